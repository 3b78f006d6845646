package arrops

import "encoding/json"

// ConversionResult is ARR's one-word verdict on a finished conversion, as its
// <name>.result.json spells it.
type ConversionResult string

// Results ARR writes into result.json.
const (
	ResultSucceeded             ConversionResult = "succeeded"
	ResultSucceededWithWarnings ConversionResult = "succeeded with warnings"
	ResultFailed                ConversionResult = "failed"
)

// Bounds on what a record keeps of ARR's output files: a model with
// thousands of missing textures must not blow the 64 KiB table entity.
const (
	MaxConversionMessages      = 10   // warnings, and errors, kept per conversion
	MaxConversionMessageLength = 300  // bytes per kept message, JSON-encoded
	MaxConversionSettingsJSON  = 2048 // bytes of the applied settings, JSON-encoded
)

// ConversionDetails is what arrops keeps of a finished conversion's output
// files (<name>.result.json and <name>.info.json beside the .arrAsset).
type ConversionDetails struct {
	// Result is from result.json; empty when there was none.
	Result        ConversionResult `json:"result,omitempty"`
	Warnings      []string         `json:"warnings,omitempty"` // the first MaxConversionMessages
	WarningsTotal int              `json:"warningsTotal,omitempty"`
	Errors        []string         `json:"errors,omitempty"`
	ErrorsTotal   int              `json:"errorsTotal,omitempty"`
	// Note says what was missing or unreadable, e.g. "no result.json in the output".
	Note       string                `json:"note,omitempty"`
	Statistics *ConversionStatistics `json:"statistics,omitempty"`
	// Settings is info.json's conversionSettings (the settings ARR applied),
	// compact JSON, at most MaxConversionSettingsJSON bytes.
	Settings json.RawMessage `json:"settings,omitempty"`
}

// ConversionStatistics are the figures of info.json that matter for
// rendering cost: the input's size and the converted model's bounds.
type ConversionStatistics struct {
	Vertices    int64        `json:"vertices,omitempty"`
	Triangles   int64        `json:"triangles,omitempty"`
	Materials   int64        `json:"materials,omitempty"`
	BoundingBox *BoundingBox `json:"boundingBox,omitempty"`
}

// BoundingBox is an axis-aligned box in the .arrAsset's coordinates (meters).
type BoundingBox struct {
	Min [3]float64 `json:"min"`
	Max [3]float64 `json:"max"`
}

// PointCloudFormats are the input extensions ARR converts as point clouds.
var PointCloudFormats = []string{".xyz", ".ply", ".e57", ".las", ".laz"}

// IsPointCloud reports whether name is a point cloud format, in any case.
func IsPointCloud(name string) bool { return hasExt(name, PointCloudFormats) }
