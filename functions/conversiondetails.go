package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/arrops/arrops"
)

// maxOutputFile bounds a read of result.json or info.json (ARR's are a few
// KiB; a model with very many warnings makes result.json longer).
const maxOutputFile = 4 << 20

// ParseResultFile reads ARR's <name>.result.json: a JSON array of objects,
// each with one of "warning", "error", "internal warning", "internal error"
// or "result" (and "conversionId", ignored), as documented in ARR's "Get
// information about conversions". Warnings and errors are kept bounded.
func ParseResultFile(b []byte) (*arrops.ConversionDetails, error) {
	var entries []map[string]json.RawMessage
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("result.json is not a JSON array of objects: %w", err)
	}
	d := &arrops.ConversionDetails{}
	for _, e := range entries {
		switch {
		case e["result"] != nil:
			d.Result = arrops.ConversionResult(arrops.Clip(text(e["result"]), 64))
		case e["warning"] != nil:
			d.WarningsTotal++
			d.Warnings = keep(d.Warnings, message("", e["warning"], e))
		case e["internal warning"] != nil:
			d.WarningsTotal++
			d.Warnings = keep(d.Warnings, message("internal ", e["internal warning"], e))
		case e["error"] != nil:
			d.ErrorsTotal++
			d.Errors = keep(d.Errors, message("", e["error"], e))
		case e["internal error"] != nil:
			d.ErrorsTotal++
			d.Errors = keep(d.Errors, message("internal ", e["internal error"], e))
		}
	}
	if d.Result == "" {
		return d, fmt.Errorf("result.json has no result entry")
	}
	return d, nil
}

// infoFile is the part of ARR's <name>.info.json arrops keeps (ARR's "Get
// information about a converted model": inputStatistics numVertices,
// numFaces (triangles), numMaterial; outputStatistics boundingBox).
type infoFile struct {
	ConversionSettings json.RawMessage `json:"conversionSettings"`
	InputStatistics    *struct {
		NumVertices *float64 `json:"numVertices"`
		NumFaces    *float64 `json:"numFaces"`
		NumMaterial *float64 `json:"numMaterial"`
	} `json:"inputStatistics"`
	OutputStatistics *struct {
		BoundingBox *struct {
			Min []float64 `json:"min"`
			Max []float64 `json:"max"`
		} `json:"boundingBox"`
	} `json:"outputStatistics"`
}

// ParseInfoFile reads ARR's <name>.info.json into d: the statistics that
// matter and the conversion settings ARR applied (compact, bounded).
func ParseInfoFile(b []byte, d *arrops.ConversionDetails) error {
	var f infoFile
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("info.json is not ARR's info file: %w", err)
	}
	st := &arrops.ConversionStatistics{}
	if in := f.InputStatistics; in != nil {
		st.Vertices, st.Triangles, st.Materials = count(in.NumVertices), count(in.NumFaces), count(in.NumMaterial)
	}
	if out := f.OutputStatistics; out != nil && out.BoundingBox != nil && len(out.BoundingBox.Min) == 3 && len(out.BoundingBox.Max) == 3 {
		st.BoundingBox = &arrops.BoundingBox{Min: [3]float64(out.BoundingBox.Min), Max: [3]float64(out.BoundingBox.Max)}
	}
	if *st != (arrops.ConversionStatistics{}) {
		d.Statistics = st
	}
	if len(f.ConversionSettings) > 0 && string(f.ConversionSettings) != "null" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, f.ConversionSettings); err == nil {
			// Bounded as encoded in records and events (which escape <, > and &).
			enc, _ := json.Marshal(json.RawMessage(buf.Bytes()))
			if len(enc) <= arrops.MaxConversionSettingsJSON {
				d.Settings = json.RawMessage(buf.String())
			} else {
				d.Note = joinNotes(d.Note, fmt.Sprintf("the applied settings (%d bytes of JSON) are too long to keep; see info.json", len(enc)))
			}
		}
	}
	return nil
}

// ReadConversionDetails reads the result.json and info.json ARR wrote beside
// c's .arrAsset. A file that is missing, unreadable for lack of rights, too
// large or not in ARR's format becomes a note (a failure before conversion
// writes no result.json: ARR's error code says why); other read errors are
// returned as transient. It returns nil when c has no output path.
func ReadConversionDetails(ctx context.Context, blobs BlobReader, c *arrops.Conversion) (*arrops.ConversionDetails, error) {
	if c.OutputPath == "" || c.OutputContainer == "" {
		return nil, nil
	}
	base := strings.TrimSuffix(c.OutputPath, path.Ext(c.OutputPath))
	d := &arrops.ConversionDetails{}
	read := func(name string) ([]byte, bool, error) {
		b, err := blobs.ReadBlob(ctx, c.OutputContainer, name, maxOutputFile)
		switch arrops.ErrorCode(err) {
		case "":
			return b, true, nil
		case arrops.ENOTFOUND:
			what := "no " + path.Base(name) + " in the output"
			if c.Status == arrops.ConversionFailed && strings.HasSuffix(name, ".result.json") {
				what += ": ARR failed before converting (see the error code)"
			}
			d.Note = joinNotes(d.Note, what)
			return nil, false, nil
		case arrops.EINVALID:
			d.Note = joinNotes(d.Note, arrops.ErrorMessage(err))
			return nil, false, nil
		}
		return nil, false, err
	}
	b, ok, err := read(base + ".result.json")
	if err != nil {
		return nil, err
	}
	if ok {
		res, perr := ParseResultFile(b)
		if perr != nil {
			d.Note = joinNotes(d.Note, perr.Error())
		}
		if res != nil {
			note := d.Note
			*d = *res
			d.Note = note
		}
	}
	if b, ok, err = read(base + ".info.json"); err != nil {
		return nil, err
	}
	if ok {
		if perr := ParseInfoFile(b, d); perr != nil {
			d.Note = joinNotes(d.Note, perr.Error())
		}
	}
	return d, nil
}

// message renders one result.json entry: "4004 Missing texture
// (material=buggy_col, texture=buggy_baseColor.png)".
func message(prefix string, code json.RawMessage, e map[string]json.RawMessage) string {
	s := prefix + text(code)
	if t := text(e["title"]); t != "" {
		s += " " + t
	}
	var details map[string]json.RawMessage
	if json.Unmarshal(e["details"], &details) == nil && len(details) > 0 {
		keys := make([]string, 0, len(details))
		for k := range details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + text(details[k])
		}
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return arrops.Clip(s, arrops.MaxConversionMessageLength)
}

// text is a JSON string's value, or the JSON itself for other values.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func keep(list []string, s string) []string {
	if len(list) >= arrops.MaxConversionMessages {
		return list
	}
	return append(list, s)
}

func count(f *float64) int64 {
	if f == nil || *f < 0 {
		return 0
	}
	return int64(*f)
}

func joinNotes(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
