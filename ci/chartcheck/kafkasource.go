package chartcheck

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// KafkaSource holds the fields of sources.knative.dev/v1beta1 KafkaSource, written out here
// because no knative eventing module can be downloaded. Decoding a manifest into it with
// unknown fields disallowed catches a misspelt or misplaced field before a cluster does.
type KafkaSource struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              KafkaSourceSpec `json:"spec"`
}

// KafkaSourceSpec is the v1beta1 spec: the Kafka side, then the delivery and the sink.
type KafkaSourceSpec struct {
	BootstrapServers []string                    `json:"bootstrapServers"`
	Topics           []string                    `json:"topics"`
	ConsumerGroup    string                      `json:"consumerGroup,omitempty"`
	Consumers        *int32                      `json:"consumers,omitempty"`
	InitialOffset    string                      `json:"initialOffset,omitempty"`
	Ordering         *string                     `json:"ordering,omitempty"`
	Net              *KafkaNet                   `json:"net,omitempty"`
	Delivery         *DeliverySpec               `json:"delivery,omitempty"`
	Sink             duckv1.Destination          `json:"sink"`
	CEOverrides      *duckv1.CloudEventOverrides `json:"ceOverrides,omitempty"`
}

// KafkaNet is how the source reaches the brokers; every secret value is a reference.
type KafkaNet struct {
	SASL *KafkaSASL `json:"sasl,omitempty"`
	TLS  *KafkaTLS  `json:"tls,omitempty"`
}

// KafkaSASL names the Secret keys of the SASL user, password and mechanism.
type KafkaSASL struct {
	Enable   bool        `json:"enable,omitempty"`
	User     SecretValue `json:"user,omitempty"`
	Password SecretValue `json:"password,omitempty"`
	Type     SecretValue `json:"type,omitempty"`
}

// KafkaTLS names the Secret keys of the client certificate and the CA.
type KafkaTLS struct {
	Enable bool        `json:"enable,omitempty"`
	Cert   SecretValue `json:"cert,omitempty"`
	Key    SecretValue `json:"key,omitempty"`
	CACert SecretValue `json:"caCert,omitempty"`
}

// SecretValue is a value read from a Secret.
type SecretValue struct {
	SecretKeyRef *SecretKeyRef `json:"secretKeyRef,omitempty"`
}

// SecretKeyRef points at one key of a Secret in the source's namespace.
type SecretKeyRef struct {
	Name     string `json:"name"`
	Key      string `json:"key"`
	Optional *bool  `json:"optional,omitempty"`
}

// DeliverySpec is Knative Eventing's delivery: retries, backoff, timeout and the dead letter
// sink. Durations are ISO 8601 ("PT2S").
type DeliverySpec struct {
	DeadLetterSink *duckv1.Destination `json:"deadLetterSink,omitempty"`
	Retry          *int32              `json:"retry,omitempty"`
	Timeout        *string             `json:"timeout,omitempty"`
	BackoffPolicy  *string             `json:"backoffPolicy,omitempty"`
	BackoffDelay   *string             `json:"backoffDelay,omitempty"`
	RetryAfterMax  *string             `json:"retryAfterMax,omitempty"`
}
