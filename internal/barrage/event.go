package barrage

// CloudEvent attributes of an accepted barrage. The HomePage writes each Kafka record as a
// binary-mode CloudEvent with these, so a KafkaSource forwards it unchanged; a plain
// record typed into the topic arrives as KafkaEventType instead.
const (
	EventType      = "live.barrage.accepted"
	EventSource    = "/barrage/homepage"
	KafkaEventType = "dev.knative.kafka.event"
)
