package chartcheck

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// KafkaSourceV1Alpha1 holds the fields of the seed's sources.knative.dev/v1alpha1
// KafkaSource, whose servers and topics are comma-separated strings (knative
// eventing-contrib v0.13 and v0.14, the last releases with that form). It has no delivery,
// so no retries, dead-letter sink or timeout, and no ordering, initialOffset or SASL type.
type KafkaSourceV1Alpha1 struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              KafkaSourceV1Alpha1Spec `json:"spec"`
}

// KafkaSourceV1Alpha1Spec is the whole v1alpha1 spec.
type KafkaSourceV1Alpha1Spec struct {
	BootstrapServers   string                  `json:"bootstrapServers"`
	Topics             string                  `json:"topics"`
	ConsumerGroup      string                  `json:"consumerGroup"`
	Net                *KafkaNetV1Alpha1       `json:"net,omitempty"`
	Sink               *duckv1.Destination     `json:"sink,omitempty"`
	ServiceAccountName string                  `json:"serviceAccountName,omitempty"`
	Resources          *KafkaResourcesV1Alpha1 `json:"resources,omitempty"`
}

// KafkaNetV1Alpha1 is v1alpha1's net: SASL without a type (PLAIN), and TLS.
type KafkaNetV1Alpha1 struct {
	SASL *KafkaSASLV1Alpha1 `json:"sasl,omitempty"`
	TLS  *KafkaTLS          `json:"tls,omitempty"`
}

// KafkaSASLV1Alpha1 names the Secret keys of the SASL user and password.
type KafkaSASLV1Alpha1 struct {
	Enable   bool        `json:"enable,omitempty"`
	User     SecretValue `json:"user,omitempty"`
	Password SecretValue `json:"password,omitempty"`
}

// KafkaResourcesV1Alpha1 sizes the source's receive adapter.
type KafkaResourcesV1Alpha1 struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}
