package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// brokerSetup is what the stand-ins share with the pods through the Secrets.
type brokerSetup struct {
	otsKeyID, otsSecret            string
	kafkaUser, kafkaPwd, mechanism string
	certPEM, keyPEM                []byte // the broker's, when TLS is on
}

// secrets makes the Secrets the environment expects (item 5 of cluster.go).
func (c *check) secrets(eff map[string]any, si standIns, tls bool) (secrets, brokerSetup, error) {
	name := lookup(eff, "", "credentials", "existingSecret")
	if name == "" {
		return nil, brokerSetup{}, fmt.Errorf("the check supplies credentials.existingSecret; this environment has the chart make its own")
	}
	b := brokerSetup{
		otsKeyID: "pods-" + randomHex(8), otsSecret: randomHex(16),
		kafkaUser: "barrage", kafkaPwd: randomHex(16),
		mechanism: lookup(eff, "PLAIN", "kafka", "sasl", "mechanism"),
	}
	key := func(k string) string { return lookup(eff, "", "credentials", "keys", k) }
	s := secrets{name: {
		key("otsKeyId"): b.otsKeyID, key("otsSecret"): b.otsSecret,
		key("kafkaUser"): b.kafkaUser, key("kafkaPassword"): b.kafkaPwd,
		key("kafkaSaslMechanism"): b.mechanism, key("adminToken"): randomHex(24),
	}}
	if tls {
		ca, cert, k, err := brokerCerts(si.kafka)
		if err != nil {
			return nil, brokerSetup{}, err
		}
		b.certPEM, b.keyPEM = cert, k
		s[si.caSecret] = map[string]string{lookup(eff, "ca.crt", "kafka", "tls", "caSecret", "key"): string(ca)}
	}
	return s, b, nil
}

// start runs a container and remembers it for cleanup.
func (c *check) start(ctx context.Context, args []string) error {
	c.containers = append(c.containers, args[slices.Index(args, "--name")+1])
	_, err := c.pm.run(ctx, append([]string{"run"}, args...)...)
	return err
}

// startStore runs the Tablestore test server with the access key the pods' Secret holds.
func (c *check) startStore(ctx context.Context, si standIns, b brokerSetup) error {
	env := filepath.Join(c.dir, "store.env")
	if err := writeEnvFile(env, map[string]string{
		"OTS_INSTANCENAME": si.storeInstance, "OTS_KEYID": b.otsKeyID, "OTS_SECRET": b.otsSecret,
	}); err != nil {
		return err
	}
	if err := c.start(ctx, []string{"-d", "--name", si.store, "--network", c.network,
		"--read-only", "--read-only-tmpfs=false", "--user", "65532:65532", "--env-file", env,
		"-p", "127.0.0.1::8080", c.o.storeImage, "-addr", ":8080"}); err != nil {
		return err
	}
	port, err := c.pm.hostPort(ctx, si.store, 8080)
	if err != nil {
		return err
	}
	// Any answer means it serves: an unsigned request is refused as the service would.
	return waitFor(ctx, "the store answers", 30*time.Second, func() error {
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/ListTable", port), "application/x.pb2", nil)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
}

// startBroker runs `barrage broker` from the service image as the Kafka stand-in (item 4).
func (c *check) startBroker(ctx context.Context, si standIns, eff map[string]any, b brokerSetup, tls, sasl bool) error {
	env := map[string]string{
		"BARRAGE_HOST":              "0.0.0.0",
		"PORT":                      "8083",
		"BARRAGE_BROKER_ADDR":       fmt.Sprintf("%s:%d", si.kafka, si.kafkaPort),
		"BARRAGE_DATA_DIR":          "/data",
		"KAFKA_TOPIC":               lookup(eff, "barrage-info", "kafka", "topic"),
		"BARRAGE_DEAD_LETTER_TOPIC": lookup(eff, "barrage-info-dead-letter", "eventDriver", "dispatcher", "deadLetterTopic"),
	}
	args := []string{"-d", "--name", si.kafka, "--network", c.network, "--read-only", "--read-only-tmpfs=false",
		"--mount", "type=tmpfs,destination=/data,tmpfs-mode=1777", "-p", "127.0.0.1::8083"}
	if sasl {
		env["KAFKA_USER"], env["KAFKA_PWD"], env["BARRAGE_KAFKA_SASL_MECHANISM"] = b.kafkaUser, b.kafkaPwd, b.mechanism
	}
	if tls {
		dir := filepath.Join(c.dir, "broker-tls")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// Readable by the image's non-root user; the directory is this run's alone.
		for name, pem := range map[string][]byte{"tls.crt": b.certPEM, "tls.key": b.keyPEM} {
			if err := os.WriteFile(filepath.Join(dir, name), pem, 0o644); err != nil {
				return err
			}
		}
		env["BARRAGE_BROKER_TLS_CERT_FILE"], env["BARRAGE_BROKER_TLS_KEY_FILE"] = "/etc/broker-tls/tls.crt", "/etc/broker-tls/tls.key"
		args = append(args, "-v", dir+":/etc/broker-tls:ro")
	}
	envFile := filepath.Join(c.dir, "broker.env")
	if err := writeEnvFile(envFile, env); err != nil {
		return err
	}
	args = append(args, "--env-file", envFile, c.o.image, "broker")
	if err := c.start(ctx, args); err != nil {
		return err
	}
	port, err := c.pm.hostPort(ctx, si.kafka, 8083)
	if err != nil {
		return err
	}
	c.logf("Kafka stand-in %s:%d (TLS %v, SASL %v)", si.kafka, si.kafkaPort, tls, sasl)
	return waitFor(ctx, "the broker is ready", 60*time.Second, func() error {
		return get200(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
	})
}

// pod is a started workload.
type pod struct {
	w         workload
	c         container
	hostPorts map[int]int // container port -> published loopback port
}

func (p pod) url(port int, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", p.hostPorts[port], path)
}

// startPods runs every workload as its pod spec says, with the cluster's additions.
func (c *check) startPods(ctx context.Context, workloads []workload, sec secrets) ([]pod, error) {
	services := map[string]string{}
	for _, w := range workloads {
		if w.kind == "ksvc" {
			services[w.name] = c.prefix + "-" + w.name
		}
	}
	imageUser, err := c.pm.run(ctx, "image", "inspect", "-f", "{{.Config.User}}", c.o.image)
	if err != nil {
		return nil, err
	}
	var pods []pod
	for _, w := range workloads {
		pc := podContext{
			name: c.prefix + "-" + w.name, namespace: namespace, network: c.network, dir: c.dir,
			secrets: sec, rewrite: func(v string) string { return serviceURL(v, namespace, services) },
		}
		if w.kind == "ksvc" {
			pc.extraEnv = knativeEnv(w.name)
		}
		ct, err := podContainer(w, pc)
		if err != nil {
			return nil, err
		}
		if ct.image != c.o.image {
			return nil, fmt.Errorf("%s %s runs %s, not the image built here (%s)", w.kind, w.name, ct.image, c.o.image)
		}
		if err := runsAsNonRoot(w, imageUser); err != nil {
			return nil, err
		}
		if err := c.start(ctx, ct.args); err != nil {
			return nil, err
		}
		p := pod{w: w, c: ct, hostPorts: map[int]int{}}
		for _, port := range ct.ports {
			if p.hostPorts[port], err = c.pm.hostPort(ctx, ct.name, port); err != nil {
				return nil, err
			}
		}
		if err := c.checkUID(ctx, p); err != nil {
			return nil, err
		}
		c.logf("started %s %s as %s", w.kind, w.name, ct.name)
		pods = append(pods, p)
	}
	return pods, nil
}

// runsAsNonRoot is the kubelet's check: with runAsNonRoot and no runAsUser, the image's
// user must be a non-zero uid given as a number.
func runsAsNonRoot(w workload, imageUser string) error {
	c := w.spec.Containers[0]
	nonRoot, uid := false, false
	if s := w.spec.SecurityContext; s != nil {
		nonRoot = s.RunAsNonRoot != nil && *s.RunAsNonRoot
		uid = s.RunAsUser != nil
	}
	if s := c.SecurityContext; s != nil {
		if s.RunAsNonRoot != nil {
			nonRoot = *s.RunAsNonRoot
		}
		uid = uid || s.RunAsUser != nil
	}
	if !nonRoot || uid {
		return nil
	}
	u, _, _ := strings.Cut(imageUser, ":")
	if n, err := strconv.Atoi(u); err != nil || n == 0 {
		return fmt.Errorf("%s %s: runAsNonRoot, and the image's user %q is not a non-zero uid, so the kubelet would refuse it", w.kind, w.name, imageUser)
	}
	return nil
}

// checkUID reads the container's process uid on the host: a pod that asks for a non-root
// user must not run as root.
func (c *check) checkUID(ctx context.Context, p pod) error {
	pid, err := c.pm.run(ctx, "inspect", "-f", "{{.State.Pid}}", p.c.name)
	if err != nil {
		return err
	}
	if pid == "0" {
		return fmt.Errorf("%s exited as it started (its log is below)", p.c.name)
	}
	status, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return fmt.Errorf("%s: %w", p.c.name, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			if f[1] == "0" {
				return fmt.Errorf("%s runs as root", p.c.name)
			}
			return nil
		}
	}
	return fmt.Errorf("%s: no Uid in /proc/%s/status", p.c.name, pid)
}
