package chartcheck

import (
	"errors"
	"fmt"

	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// decodeStrict decodes a YAML manifest the way the API server's strict field validation
// does: field names match case-sensitively, and unknown or duplicate fields are errors.
// encoding/json alone would take "consumergroup" for "consumerGroup".
func decodeStrict(raw []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return fmt.Errorf("yaml: %w", err)
	}
	strictErrs, err := k8sjson.UnmarshalStrict(j, v, k8sjson.DisallowDuplicateFields, k8sjson.DisallowUnknownFields)
	if err != nil {
		return fmt.Errorf("json: %w", err)
	}
	return errors.Join(strictErrs...)
}
