// Package chartcheck tests the Helm chart in charts/barrage the way a cluster would take
// it: helm's own lint and render, Knative Serving's own defaulting and validation for the
// Knative Services, and a strict decode of the KafkaSource against its v1beta1 fields.
//
// Run `(cd ci/chartcheck && go test . -update)` to rewrite the golden manifests.
package chartcheck
