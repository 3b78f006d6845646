package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// Side files ARR reads from beside a model (ARR's "Configure the model
// conversion" and "Override materials during model conversion"):
//
//	<model>.ConversionSettings.json  conversion options for <model>.<ext>
//	<model>.MaterialOverrides.json   material overrides for <model>.<ext>
//	conversionSettings.json          deprecated: options for every model in the folder
const (
	SettingsSuffix        = ".ConversionSettings.json"
	OverridesSuffix       = ".MaterialOverrides.json"
	LegacySettingsName    = "conversionSettings.json"
	RejectInvalidSettings = "InvalidConversionSettings"
	// maxSideFile bounds a side file read (ARR's own are a few hundred bytes).
	maxSideFile = 1 << 20
)

// IsSideFile reports whether p names a settings or material overrides file:
// uploading one never starts a conversion by itself.
func IsSideFile(p string) bool {
	base := path.Base(p)
	lower := strings.ToLower(base)
	return strings.HasSuffix(lower, strings.ToLower(SettingsSuffix)) || strings.HasSuffix(lower, strings.ToLower(OverridesSuffix)) ||
		lower == strings.ToLower(LegacySettingsName)
}

// SideFiles returns the paths ARR looks at for the model at input: its own
// settings file, the deprecated folder-wide one, and its overrides file.
func SideFiles(input string) (settings, legacy, overrides string) {
	dir, file := path.Split(input)
	model := strings.TrimSuffix(file, path.Ext(file))
	return dir + model + SettingsSuffix, dir + LegacySettingsName, dir + model + OverridesSuffix
}

// SettingsError is a settings file ARR would not accept: the option and why.
type SettingsError struct {
	Field, Reason string
}

func (e *SettingsError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + ": " + e.Reason
}

// option checks one value of a settings file.
type option func(v any) string

// The options ARR documents, with their JSON schema types and enums.
var (
	positionFormats = []string{"32_32_32_FLOAT", "16_16_16_16_FLOAT"}
	colorFormats    = []string{"8_8_8_8_UNSIGNED_NORMALIZED", "NONE"}
	vectorFormats   = []string{"8_8_8_8_SIGNED_NORMALIZED", "16_16_16_16_FLOAT", "NONE"}
	texcoordFormats = []string{"32_32_FLOAT", "16_16_FLOAT", "NONE"}
	axisValues      = []string{"default", "+x", "-x", "+y", "-y", "+z", "-z"}

	meshOptions = map[string]option{
		"scaling":                        positiveNumber,
		"recenterToOrigin":               boolean,
		"opaqueMaterialDefaultSidedness": enum("SingleSided", "DoubleSided"),
		"material-override":              str, // deprecated: <model>.MaterialOverrides.json
		"gammaToLinearMaterial":          boolean,
		"gammaToLinearVertex":            boolean,
		"sceneGraphMode":                 enum("none", "static", "dynamic"),
		"generateCollisionMesh":          boolean,
		"unlitMaterials":                 boolean,
		"deduplicateMaterials":           boolean,
		"fbxAssumeMetallic":              boolean,
		"axis":                           axis,
		"vertex":                         vertex,
		"metadataKeys":                   stringArray,
	}
	vertexOptions = map[string]option{
		"position": enum(positionFormats...), "color0": enum(colorFormats...), "color1": enum(colorFormats...),
		"normal": enum(vectorFormats...), "tangent": enum(vectorFormats...), "binormal": enum(vectorFormats...),
		"texcoord0": enum(texcoordFormats...), "texcoord1": enum(texcoordFormats...),
	}
	// pointCloudOptions are the options ARR uses for point clouds; it
	// ignores the others, so a file that sets them is a mistake to report.
	pointCloudOptions = []string{"scaling", "recenterToOrigin", "axis", "gammaToLinearVertex", "generateCollisionMesh"}
)

// ValidateSettings checks a <model>.ConversionSettings.json (or the
// deprecated conversionSettings.json) against ARR's documented schema: an
// object of known options with the right types and values; for a point cloud
// only the options ARR uses for point clouds. It returns notes on deprecated
// but accepted use.
func ValidateSettings(data []byte, pointCloud bool) (notes []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, &SettingsError{Reason: fmt.Sprintf("not a JSON object: %v", err)}
	}
	if dec.More() {
		return nil, &SettingsError{Reason: "data after the JSON object"}
	}
	if doc == nil {
		return nil, &SettingsError{Reason: "not a JSON object: null"}
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys) // report the same first problem every time
	for _, k := range keys {
		check, known := meshOptions[k]
		if !known {
			return nil, &SettingsError{Field: k, Reason: fmt.Sprintf("unknown option (ARR accepts %s)", strings.Join(sortedKeys(meshOptions), ", "))}
		}
		if pointCloud && !slices.Contains(pointCloudOptions, k) {
			return nil, &SettingsError{Field: k, Reason: fmt.Sprintf("has no effect on point clouds (ARR uses only %s)", strings.Join(pointCloudOptions, ", "))}
		}
		if msg := check(doc[k]); msg != "" {
			if strings.HasPrefix(msg, ".") { // a nested field
				f, rest, _ := strings.Cut(msg[1:], ": ")
				return nil, &SettingsError{Field: k + "." + f, Reason: rest}
			}
			return nil, &SettingsError{Field: k, Reason: msg}
		}
		if k == "material-override" {
			notes = append(notes, "the material-override option is deprecated: name the file <model>.MaterialOverrides.json instead")
		}
	}
	return notes, nil
}

// ValidateOverrides checks a <model>.MaterialOverrides.json: a JSON array of
// objects, each naming the material it overrides.
func ValidateOverrides(data []byte) error {
	var list []map[string]any
	if err := json.Unmarshal(data, &list); err != nil {
		return &SettingsError{Reason: fmt.Sprintf("not a JSON array of material objects: %v", err)}
	}
	for i, m := range list {
		if name, ok := m["name"].(string); !ok || name == "" {
			return &SettingsError{Field: fmt.Sprintf("[%d].name", i), Reason: "each override needs the name of the material it overrides"}
		}
	}
	return nil
}

func sortedKeys(m map[string]option) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("boolean %t", x)
	case json.Number:
		return "number " + x.String()
	case string:
		return fmt.Sprintf("string %q", x)
	case []any:
		return "an array"
	}
	return "an object"
}

func boolean(v any) string {
	if _, ok := v.(bool); !ok {
		return "must be true or false, not " + describe(v)
	}
	return ""
}

func str(v any) string {
	if _, ok := v.(string); !ok {
		return "must be a string, not " + describe(v)
	}
	return ""
}

func positiveNumber(v any) string {
	n, ok := v.(json.Number)
	if !ok {
		return "must be a number, not " + describe(v)
	}
	if f, err := n.Float64(); err != nil || f <= 0 {
		return "must be greater than 0, not " + n.String()
	}
	return ""
}

func enum(values ...string) option {
	return func(v any) string {
		s, ok := v.(string)
		if !ok || !slices.Contains(values, s) {
			return fmt.Sprintf("must be one of %s, not %s", strings.Join(values, ", "), describe(v))
		}
		return ""
	}
}

func axis(v any) string {
	list, ok := v.([]any)
	if !ok || len(list) != 3 {
		return fmt.Sprintf("must be an array of 3 of %s, not %s", strings.Join(axisValues, ", "), describe(v))
	}
	for _, a := range list {
		if msg := enum(axisValues...)(a); msg != "" {
			return "each axis " + msg
		}
	}
	return ""
}

func stringArray(v any) string {
	list, ok := v.([]any)
	if !ok {
		return "must be an array of strings, not " + describe(v)
	}
	for _, s := range list {
		if _, ok := s.(string); !ok {
			return "must be an array of strings, but has " + describe(s)
		}
	}
	return ""
}

func vertex(v any) string {
	obj, ok := v.(map[string]any)
	if !ok {
		return "must be an object of vertex stream formats, not " + describe(v)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		check, known := vertexOptions[k]
		if !known {
			return fmt.Sprintf(".%s: unknown vertex stream (ARR accepts %s)", k, strings.Join(sortedKeys(vertexOptions), ", "))
		}
		if msg := check(obj[k]); msg != "" {
			return "." + k + ": " + msg
		}
	}
	return ""
}
