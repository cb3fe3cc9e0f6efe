package chartcheck

import (
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

var heapOpts = regexp.MustCompile(`^-Xms([0-9]+)m -Xmx([0-9]+)m$`)

// TestBundledKafkaHeap: the bundled broker's JVM heap is half its memory limit, for the
// defaults, every environment that bundles it, and other limits; with the image's own 1G
// heap a 1Gi limit left nothing for the JVM's off-heap memory.
func TestBundledKafkaHeap(t *testing.T) {
	type run struct {
		name  string
		files []string
		set   []string
	}
	runs := []run{}
	for _, env := range environments {
		runs = append(runs, run{env, valueFiles(env), nil})
	}
	for _, limit := range []string{"3Gi", "1536Mi", "2G", "268435456"} {
		runs = append(runs, run{"limit " + limit, nil, []string{"localKafka.resources.limits.memory=" + limit}})
	}
	bundled := 0
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			for _, d := range mustRender(t, r.files, r.set) {
				if d.kind != "StatefulSet" {
					continue
				}
				bundled++
				var ss appsv1.StatefulSet
				if err := yaml.Unmarshal(d.raw, &ss); err != nil {
					t.Fatal(err)
				}
				c := ss.Spec.Template.Spec.Containers[0]
				limit := c.Resources.Limits.Memory()
				opts := envSource(c.Env, "KAFKA_HEAP_OPTS")
				m := heapOpts.FindStringSubmatch(opts)
				if m == nil || m[1] != m[2] {
					t.Fatalf("KAFKA_HEAP_OPTS %q, want -Xms and -Xmx of one size", opts)
				}
				heap := resource.MustParse(m[2] + "Mi")
				if limit.IsZero() || heap.Cmp(*limit) >= 0 {
					t.Fatalf("heap %s is not below the memory limit %s", heap.String(), limit.String())
				}
				half := limit.Value() / 2
				if got := heap.Value(); got > half || half-got >= 1<<20 {
					t.Errorf("heap %d bytes, want half the limit %s (%d bytes), rounded down to MiB", got, limit.String(), half)
				}
			}
		})
	}
	if bundled == 0 {
		t.Fatal("no run rendered the bundled Kafka")
	}
}

// TestBundledKafkaHeapNeedsALimit: a limit the heap cannot be worked out from fails the
// render with a message naming the value.
func TestBundledKafkaHeapNeedsALimit(t *testing.T) {
	for set, want := range map[string]string{
		"localKafka.resources.limits.memory=1Gb":   `resources.limits.memory "1Gb"`,
		"localKafka.resources.limits.memory=200Mi": `resources.limits.memory "200Mi" leaves the broker less than 128Mi`,
		"localKafka.resources.limits=null":         "resources.limits.memory is required",
	} {
		_, err := render(nil, []string{set})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--set %s: error %v, want %q", set, err, want)
		}
	}
}
