package arrsim

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// ARR writes two JSON files beside every .arrAsset (ARR's "Get information
// about conversions"): <name>.result.json, an array of entries each with one
// of "warning", "error", "internal warning", "internal error" or "result"
// (succeeded, succeeded with warnings, failed); and <name>.info.json with the
// sections files, conversionSettings (a copy of the settings file applied),
// inputInfo, inputStatistics, outputInfo and outputStatistics. The simulator
// writes both with statistics derived from the input's bytes (deterministic)
// and the settings applied: scaling scales the bounding box, recenterToOrigin
// centres it and reports the offset.
//
// It reads <model>.ConversionSettings.json (or the deprecated folder-wide
// conversionSettings.json) beside the input, as ARR does; a file that is not
// a JSON object fails the conversion with an error entry. A .gltf whose
// images are missing converts with warnings ("Missing texture"); one whose
// buffers are missing fails. Failures before the output is written (storage
// access denied) write no result.json, as with ARR.

// Output file suffixes beside the .arrAsset.
const (
	resultSuffix = ".result.json"
	infoSuffix   = ".info.json"
	maxSideRead  = 1 << 20
)

// resultEntry is one element of result.json.
type resultEntry map[string]any

// conversionRun is what one conversion found out, for the output files.
type conversionRun struct {
	settings    json.RawMessage // the settings file as found; nil without one
	entries     []resultEntry   // warnings and errors
	inputBytes  int64
	inputSHA256 []byte
}

func (r *conversionRun) warn(code, title string, details map[string]string) {
	r.entries = append(r.entries, resultEntry{"warning": code, "title": title, "details": details})
}

func (r *conversionRun) fail(code, title string, details map[string]string) {
	r.entries = append(r.entries, resultEntry{"error": code, "title": title, "details": details})
}

func (r *conversionRun) failed() bool {
	for _, e := range r.entries {
		if _, ok := e["error"]; ok {
			return true
		}
	}
	return false
}

// getBlob reads at most limit bytes of a blob through a SAS.
func (s *Server) getBlob(ctx context.Context, container, blob, sasQuery string, limit int64) ([]byte, int, error) {
	u, err := blobURL(container, blob, sasQuery)
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("x-ms-version", blobVersion)
	resp, err := s.client.Do(req)
	if err != nil {
		// The error text holds the URL and so the SAS: never return it.
		return nil, 0, fmt.Errorf("blob unreachable")
	}
	defer resp.Body.Close()
	s.stats.blobReads.Add(1)
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	return b, resp.StatusCode, err
}

// putBlob writes a block blob through a SAS and returns the HTTP status.
func (s *Server) putBlob(ctx context.Context, container, blob, sasQuery, contentType string, body []byte) (int, error) {
	u, err := blobURL(container, blob, sasQuery)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("x-ms-blob-type", "BlockBlob")
	req.Header.Set("x-ms-version", blobVersion)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp, err := s.client.Do(req)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "arrsim output blob unreachable", slog.String("container", container))
		return 0, fmt.Errorf("blob unreachable")
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	s.stats.blobWrites.Add(1)
	return resp.StatusCode, nil
}

// readSettings finds the settings file ARR would apply to the input.
func (s *Server) readSettings(ctx context.Context, in inputLocation, readSAS string, run *conversionRun) {
	rel := in.RelativeInputAssetPath
	dir, file := path.Split(rel)
	model := strings.TrimSuffix(file, path.Ext(file))
	for _, name := range []string{dir + model + ".ConversionSettings.json", dir + "conversionSettings.json"} {
		b, status, err := s.getBlob(ctx, in.StorageContainerURI, in.BlobPrefix+name, readSAS, maxSideRead)
		if err != nil || status != http.StatusOK {
			continue
		}
		var obj map[string]any
		if json.Unmarshal(b, &obj) != nil || obj == nil {
			run.fail("arrsim:invalidSettings", "Invalid conversion settings", map[string]string{"file": name, "reason": "not a JSON object"})
			return
		}
		var buf bytes.Buffer
		_ = json.Compact(&buf, b)
		run.settings = buf.Bytes()
		return
	}
}

// checkGLTFFiles looks for the buffers and images a .gltf names beside it.
func (s *Server) checkGLTFFiles(ctx context.Context, in inputLocation, readSAS string, gltf []byte, run *conversionRun) {
	var doc struct {
		Buffers []struct{ URI string } `json:"buffers"`
		Images  []struct{ URI string } `json:"images"`
	}
	if json.Unmarshal(gltf, &doc) != nil {
		run.fail("arrsim:invalidGltf", "Invalid glTF", map[string]string{"file": in.RelativeInputAssetPath})
		return
	}
	dir := path.Dir(in.RelativeInputAssetPath)
	exists := func(uri string) bool {
		name, err := url.PathUnescape(uri)
		if err != nil {
			return false
		}
		_, status, err := s.getBlob(ctx, in.StorageContainerURI, in.BlobPrefix+path.Join(dir, name), readSAS, 1)
		return err == nil && (status == http.StatusOK || status == http.StatusPartialContent)
	}
	for _, b := range doc.Buffers {
		if b.URI != "" && !strings.HasPrefix(b.URI, "data:") && !exists(b.URI) {
			run.fail("arrsim:missingBuffer", "Missing buffer", map[string]string{"buffer": b.URI})
		}
	}
	for _, im := range doc.Images {
		if im.URI != "" && !strings.HasPrefix(im.URI, "data:") && !exists(im.URI) {
			run.warn("4004", "Missing texture", map[string]string{"texture": im.URI})
		}
	}
}

// writeOutputFiles writes <name>.result.json and, on success,
// <name>.info.json. It reports whether result.json was written.
func (s *Server) writeOutputFiles(ctx context.Context, st conversionSettings, writeSAS string, run *conversionRun) bool {
	in, out := st.InputLocation, st.OutputLocation
	base := out.BlobPrefix + strings.TrimSuffix(out.OutputAssetFilename, path.Ext(out.OutputAssetFilename))
	result := "succeeded"
	switch {
	case run.failed():
		result = "failed"
	case len(run.entries) > 0:
		result = "succeeded with warnings"
	}
	if result != "failed" {
		info, _ := json.MarshalIndent(infoFile(in, out, run), "", "    ")
		if status, err := s.putBlob(ctx, out.StorageContainerURI, base+infoSuffix, writeSAS, "application/json", info); err != nil || status >= 300 {
			return false
		}
	}
	entries := append([]resultEntry{{"conversionId": hex.EncodeToString(run.inputSHA256[:8])}}, run.entries...)
	entries = append(entries, resultEntry{"result": result})
	body, _ := json.MarshalIndent(entries, "", "  ")
	status, err := s.putBlob(ctx, out.StorageContainerURI, base+resultSuffix, writeSAS, "application/json", body)
	return err == nil && status < 300
}

// infoFile builds info.json: statistics derived from the input's size and
// hash, transformed by the settings that affect geometry.
func infoFile(in inputLocation, out outputLocation, run *conversionRun) map[string]any {
	var settings map[string]any
	_ = json.Unmarshal(run.settings, &settings)
	if settings == nil {
		settings = map[string]any{}
	}
	scale := 1.0
	if f, ok := settings["scaling"].(float64); ok && f > 0 {
		scale = f
	}
	h := run.inputSHA256
	var center, half [3]float64
	for i := range 3 {
		half[i] = 0.5 + float64(h[i])/16                                     // 0.5 .. 16.4 m
		center[i] = float64(int16(binary.BigEndian.Uint16(h[4+2*i:]))) / 256 // -128 .. 128 m
	}
	offset := [3]float64{}
	if b, _ := settings["recenterToOrigin"].(bool); b {
		for i := range 3 {
			offset[i] = -center[i] * scale
			center[i] = 0
		}
	}
	var lo, hi [3]float64
	for i := range 3 {
		lo[i] = round((center[i] - half[i]) * scale)
		hi[i] = round((center[i] + half[i]) * scale)
		offset[i] = round(offset[i])
	}
	vertices := max(3, run.inputBytes/12)
	faces := max(1, vertices/2)
	materials := 1 + int64(h[7]%8)
	files := map[string]any{"input": path.Base(in.RelativeInputAssetPath)}
	model := strings.TrimSuffix(path.Base(in.RelativeInputAssetPath), path.Ext(in.RelativeInputAssetPath))
	if out.OutputAssetFilename != model+".arrAsset" {
		files["output"] = out.OutputAssetFilename
	}
	return map[string]any{
		"files":              files,
		"conversionSettings": settings,
		"inputInfo": map[string]any{"sourceAssetExtension": strings.ToLower(path.Ext(in.RelativeInputAssetPath)),
			"sourceAssetFormat": "arrsim importer", "sourceAssetFormatVersion": "1"},
		"inputStatistics": map[string]any{"numMeshes": 1, "numFaces": faces, "numVertices": vertices, "numMaterial": materials,
			"numFacesSmallestMesh": faces, "numFacesBiggestMesh": faces, "numNodes": 1, "numMeshUsagesInScene": 1, "maxNodeDepth": 0},
		"outputInfo": map[string]any{"conversionToolVersion": "arrsim", "conversionHash": strings.ToUpper(hex.EncodeToString(h[8:16]))},
		"outputStatistics": map[string]any{"numMeshPartsCreated": 1, "numMeshPartsInstanced": 0, "recenteringOffset": offset,
			"boundingBox": map[string]any{"min": lo, "max": hi}},
	}
}

func round(f float64) float64 { return math.Round(f*1e4) / 1e4 }
