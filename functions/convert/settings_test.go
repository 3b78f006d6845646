package convert

import (
	"errors"
	"strings"
	"testing"
)

// TestValidateSettings is the settings validation table: a file ARR accepts
// passes; an unknown option, a wrong type or value, and (for point clouds)
// an option ARR does not use are refused with the field and the reason.
func TestValidateSettings(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		pointCloud bool
		field      string // "" when valid
		reason     string
		note       string
	}{
		{name: "empty object", file: `{}`},
		{name: "ARR's example", file: `{"scaling":0.01,"recenterToOrigin":true}`},
		{name: "every mesh option", file: `{"scaling":2.5,"recenterToOrigin":false,"opaqueMaterialDefaultSidedness":"SingleSided",
			"gammaToLinearMaterial":true,"gammaToLinearVertex":false,"sceneGraphMode":"static","generateCollisionMesh":true,
			"unlitMaterials":false,"deduplicateMaterials":true,"fbxAssumeMetallic":false,"axis":["+x","+z","-y"],
			"vertex":{"position":"32_32_32_FLOAT","color0":"NONE","color1":"8_8_8_8_UNSIGNED_NORMALIZED","normal":"16_16_16_16_FLOAT",
			"tangent":"NONE","binormal":"8_8_8_8_SIGNED_NORMALIZED","texcoord0":"16_16_FLOAT","texcoord1":"NONE"},"metadataKeys":["Pipe*","id"]}`},
		{name: "deprecated material-override", file: `{"material-override":"box_materials_override.json"}`, note: "material-override option is deprecated"},
		{name: "point cloud subset", file: `{"scaling":1,"recenterToOrigin":true,"axis":["+x","+z","-y"],"gammaToLinearVertex":true,"generateCollisionMesh":false}`, pointCloud: true},

		{name: "unknown option", file: `{"scale":0.01}`, field: "scale", reason: "unknown option"},
		{name: "misspelt case", file: `{"Scaling":0.01}`, field: "Scaling", reason: "unknown option"},
		{name: "scaling as a string", file: `{"scaling":"0.01"}`, field: "scaling", reason: `must be a number, not string "0.01"`},
		{name: "scaling zero", file: `{"scaling":0}`, field: "scaling", reason: "must be greater than 0, not 0"},
		{name: "bool as a string", file: `{"recenterToOrigin":"true"}`, field: "recenterToOrigin", reason: `must be true or false, not string "true"`},
		{name: "enum value", file: `{"sceneGraphMode":"Static"}`, field: "sceneGraphMode", reason: "must be one of none, static, dynamic"},
		{name: "sidedness", file: `{"opaqueMaterialDefaultSidedness":1}`, field: "opaqueMaterialDefaultSidedness", reason: "not number 1"},
		{name: "axis of two", file: `{"axis":["+x","+y"]}`, field: "axis", reason: "must be an array of 3"},
		{name: "axis value", file: `{"axis":["+x","+y","z"]}`, field: "axis", reason: `each axis must be one of default, +x`},
		{name: "vertex stream unknown", file: `{"vertex":{"texcoord2":"NONE"}}`, field: "vertex.texcoord2", reason: "unknown vertex stream"},
		{name: "vertex format", file: `{"vertex":{"position":"NONE"}}`, field: "vertex.position", reason: "must be one of 32_32_32_FLOAT, 16_16_16_16_FLOAT"},
		{name: "vertex not an object", file: `{"vertex":"NONE"}`, field: "vertex", reason: "must be an object"},
		{name: "metadataKeys of numbers", file: `{"metadataKeys":["a",1]}`, field: "metadataKeys", reason: "has number 1"},
		{name: "point cloud with a mesh option", file: `{"scaling":1,"unlitMaterials":true}`, pointCloud: true, field: "unlitMaterials", reason: "has no effect on point clouds"},
		{name: "point cloud with metadataKeys", file: `{"metadataKeys":["a"]}`, pointCloud: true, field: "metadataKeys", reason: "has no effect on point clouds"},
		{name: "not an object", file: `[{"scaling":1}]`, reason: "not a JSON object"},
		{name: "null", file: `null`, reason: "not a JSON object: null"},
		{name: "trailing data", file: `{} {}`, reason: "data after the JSON object"},
		{name: "broken JSON", file: `{"scaling":0.01,}`, reason: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			notes, err := ValidateSettings([]byte(tt.file), tt.pointCloud)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("valid file refused: %v", err)
				}
				if tt.note != "" && (len(notes) != 1 || !strings.Contains(notes[0], tt.note)) {
					t.Errorf("notes %q, want one with %q", notes, tt.note)
				}
				return
			}
			var se *SettingsError
			if !errors.As(err, &se) {
				t.Fatalf("err %v, want a SettingsError", err)
			}
			if se.Field != tt.field || !strings.Contains(se.Reason, tt.reason) {
				t.Errorf("got field %q reason %q, want field %q reason containing %q", se.Field, se.Reason, tt.field, tt.reason)
			}
		})
	}
}

func TestValidateOverrides(t *testing.T) {
	for _, tt := range []struct{ file, err string }{
		{`[{"name":"buggy_col","albedoColor":{"r":1,"g":0,"b":0,"a":1}}]`, ""},
		{`[]`, ""},
		{`[{"albedoColor":{}}]`, "[0].name: each override needs the name"},
		{`{"name":"x"}`, "not a JSON array"},
	} {
		err := ValidateOverrides([]byte(tt.file))
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: err %v, want %q", tt.file, err, tt.err)
		}
	}
}

func TestSideFiles(t *testing.T) {
	s, l, o := SideFiles("models/site/Plant.v2.fbx")
	if s != "models/site/Plant.v2.ConversionSettings.json" || l != "models/site/conversionSettings.json" || o != "models/site/Plant.v2.MaterialOverrides.json" {
		t.Errorf("SideFiles: %s %s %s", s, l, o)
	}
	for p, want := range map[string]bool{s: true, l: true, o: true, "a/plant.conversionsettings.json": true,
		"a/plant.json": false, "a/plant.fbx": false, "a/conversionSettings.json.bak": false} {
		if IsSideFile(p) != want {
			t.Errorf("IsSideFile(%q) = %t", p, !want)
		}
	}
}

// FuzzValidateSettings: settings files are outside input; the validator
// must not panic and must name a field only for an object.
func FuzzValidateSettings(f *testing.F) {
	for _, s := range []string{`{}`, `{"scaling":0.01,"recenterToOrigin":true}`, `{"vertex":{"position":"NONE"}}`,
		`{"axis":["+x","+z","-y"]}`, `{"metadataKeys":["a",1]}`, `null`, `[1]`, `{"scaling":1e400}`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, pointCloud bool) {
		_, err := ValidateSettings(b, pointCloud)
		var se *SettingsError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("error of another kind: %v", err)
		}
		_ = ValidateOverrides(b)
	})
}
