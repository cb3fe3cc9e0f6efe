package main

import (
	"fmt"
	"net/url"
	"strings"
)

// What a cluster adds to the rendered pods, and what this check adds in its place. This is
// the one list; docs/deploy.md ("Running the pods as rendered") repeats it.
//
//  1. Knative's container env for a Knative Service's pod: PORT=8080, K_SERVICE,
//     K_REVISION and K_CONFIGURATION (knativeEnv).
//  2. Knative's routing: http://<service>.<namespace>.svc.cluster.local, port 80, reaches
//     the Service's container on 8080 through the ingress and queue-proxy. Env values that
//     name a Knative Service so are pointed at its container instead (serviceURL).
//  3. A store all pods share: the Tablestore test server (cmd/barrage-otstest) as a
//     container of its own, and store.tablestore.endpoint and instanceName set to it.
//  4. A Kafka stand-in: `barrage broker` as a container of its own, advertising its
//     container name, with TLS (a CA made here, given to the pods through
//     kafka.tls.caSecret) and SASL with the environment's mechanism when the environment
//     asks for them; localKafka.enabled=false and kafka.bootstrapServers set to it.
//  5. The Secrets the environment expects (credentials.existingSecret, and the CA), made
//     here with random values.
//  6. No KafkaSource runs here, so an environment with one gets
//     eventDriver.type=dispatcher.

// knativePort is the port Knative gives a Service's container in PORT.
const knativePort = 8080

// knativeEnv is what Knative Serving sets in a revision's container (item 1).
func knativeEnv(service string) map[string]string {
	return map[string]string{
		"PORT":            fmt.Sprint(knativePort),
		"K_SERVICE":       service,
		"K_CONFIGURATION": service,
		"K_REVISION":      service + "-00001",
	}
}

// standIns are the containers the check runs in the cluster's place.
type standIns struct {
	store, storeInstance string // the Tablestore test server's container and instance
	kafka                string // the broker's container
	kafkaPort            int
	caSecret             string // the Secret holding the stand-in's CA, when TLS is on
	needsDispatcher      bool
}

// overrides are the --set values of items 3, 4 and 6.
func (s standIns) overrides() []string {
	set := []string{
		"store.tablestore.endpoint=http://" + s.store + ":8080",
		"store.tablestore.instanceName=" + s.storeInstance,
		"localKafka.enabled=false",
		fmt.Sprintf("kafka.bootstrapServers=%s:%d", s.kafka, s.kafkaPort),
	}
	if s.caSecret != "" {
		set = append(set, "kafka.tls.caSecret.name="+s.caSecret)
	}
	if s.needsDispatcher {
		set = append(set, "eventDriver.type=dispatcher")
	}
	return set
}

// serviceURL points a URL at a Knative Service's cluster address to that Service's
// container (item 2); services maps a Service's name to its container's name.
func serviceURL(value, namespace string, services map[string]string) string {
	u, err := url.Parse(value)
	if err != nil || u.Scheme != "http" || u.Port() != "" {
		return value
	}
	host := u.Hostname()
	for _, suffix := range []string{"." + namespace + ".svc.cluster.local", "." + namespace + ".svc"} {
		name, ok := strings.CutSuffix(host, suffix)
		if c, known := services[name]; ok && known {
			u.Host = fmt.Sprintf("%s:%d", c, knativePort)
			return u.String()
		}
	}
	return value
}
