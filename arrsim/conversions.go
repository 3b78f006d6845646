package arrsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// Conversion statuses as the service spells them.
const (
	convNotStarted = "NotStarted"
	convRunning    = "Running"
	convSucceeded  = "Succeeded"
	convFailed     = "Failed"
)

// conversion phases: pending until due, processing while the blobs are
// read and written, done once the result is known.
const (
	phasePending = iota
	phaseProcessing
	phaseDone
)

type conversion struct {
	id       string
	seq      uint64
	settings conversionSettings // normalised, as echoed
	readSAS  string             // never echoed or logged
	writeSAS string
	created  time.Time
	phase    int
	done     chan struct{} // closed when phase becomes phaseDone
	status   string        // final status once phase is done
	err      *apiError
	output   string
}

// Wire types of conversion settings. The request form carries the SAS
// fields; the echoed form never does.
type inputLocation struct {
	StorageContainerURI    string `json:"storageContainerUri"`
	BlobPrefix             string `json:"blobPrefix"`
	RelativeInputAssetPath string `json:"relativeInputAssetPath"`
}

type outputLocation struct {
	StorageContainerURI string `json:"storageContainerUri"`
	BlobPrefix          string `json:"blobPrefix"`
	OutputAssetFilename string `json:"outputAssetFilename"`
}

type conversionSettings struct {
	InputLocation  inputLocation  `json:"inputLocation"`
	OutputLocation outputLocation `json:"outputLocation"`
}

type conversionRequest struct {
	Settings *struct {
		InputLocation *struct {
			StorageContainerURI         string `json:"storageContainerUri"`
			StorageContainerReadListSas string `json:"storageContainerReadListSas"`
			BlobPrefix                  string `json:"blobPrefix"`
			RelativeInputAssetPath      string `json:"relativeInputAssetPath"`
		} `json:"inputLocation"`
		OutputLocation *struct {
			StorageContainerURI      string `json:"storageContainerUri"`
			StorageContainerWriteSas string `json:"storageContainerWriteSas"`
			BlobPrefix               string `json:"blobPrefix"`
			OutputAssetFilename      string `json:"outputAssetFilename"`
		} `json:"outputLocation"`
	} `json:"settings"`
}

type conversionJSON struct {
	ID           string             `json:"id"`
	CreationTime string             `json:"creationTime"`
	Settings     conversionSettings `json:"settings"`
	Output       *conversionOutput  `json:"output,omitempty"`
	Error        *apiError          `json:"error"`
	Status       string             `json:"status"`
}

type conversionOutput struct {
	OutputAssetURI string `json:"outputAssetUri"`
}

// conversionCreate is a decoded, validated, normalised create body.
type conversionCreate struct {
	Settings conversionSettings
	ReadSAS  string
	WriteSAS string
}

// decodeConversionCreate validates and normalises a create-conversion body:
// a non-empty blobPrefix gains a trailing '/', a missing outputAssetFilename
// becomes the input's base name with ".arrAsset", and the SAS fields are
// split off (with or without a leading '?').
func decodeConversionCreate(body []byte) (conversionCreate, *apiError) {
	var req conversionRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Settings == nil ||
		req.Settings.InputLocation == nil || req.Settings.OutputLocation == nil {
		return conversionCreate{}, errMalformed
	}
	in, out := req.Settings.InputLocation, req.Settings.OutputLocation
	if in.StorageContainerURI == "" || in.RelativeInputAssetPath == "" || out.StorageContainerURI == "" {
		return conversionCreate{}, errMalformed
	}
	c := conversionCreate{
		Settings: conversionSettings{
			InputLocation: inputLocation{StorageContainerURI: in.StorageContainerURI,
				BlobPrefix: normalisePrefix(in.BlobPrefix), RelativeInputAssetPath: in.RelativeInputAssetPath},
			OutputLocation: outputLocation{StorageContainerURI: out.StorageContainerURI,
				BlobPrefix: normalisePrefix(out.BlobPrefix), OutputAssetFilename: out.OutputAssetFilename},
		},
		ReadSAS:  strings.TrimPrefix(in.StorageContainerReadListSas, "?"),
		WriteSAS: strings.TrimPrefix(out.StorageContainerWriteSas, "?"),
	}
	if c.Settings.OutputLocation.OutputAssetFilename == "" {
		base := path.Base(in.RelativeInputAssetPath)
		c.Settings.OutputLocation.OutputAssetFilename = strings.TrimSuffix(base, path.Ext(base)) + ".arrAsset"
	}
	return c, nil
}

func normalisePrefix(p string) string {
	if p != "" && !strings.HasSuffix(p, "/") {
		return p + "/"
	}
	return p
}

// inputFormats are the extensions ARR converts.
var inputFormats = map[string]bool{".fbx": true, ".gltf": true, ".glb": true, ".xyz": true, ".ply": true, ".e57": true, ".las": true, ".laz": true}

var (
	errNoStorageAccess = &apiError{Code: "DelegatedResourceAccessError",
		Message: "Error accessing connected storage account due to insufficient permissions. Check if the Mixed Reality resource has correct permissions assigned. Documentation on how to link Remote Rendering Accounts to storage can be found here: https://docs.microsoft.com/azure/remote-rendering/how-tos/create-an-account#link-storage-accounts."}
	errInvalidInput = &apiError{Code: "ConversionProcessFailed", Message: "Invalid input provided. Check logs in output container for details."}
	errInputDenied  = &apiError{Code: "InputContainerAccessDenied", Message: "Access to the input blob container was denied. Invalid access rights or invalid shared access signature."}
	errOutputDenied = &apiError{Code: "OutputContainerAccessDenied", Message: "Access to the output blob container was denied. Invalid access rights or invalid shared access signature."}
	errInternalConv = &apiError{Code: "InternalServerError", Message: "Unexpected internal server error encountered."}
)

// conversionTimeFormat matches the service: 'Z' and up to 7 fraction digits.
const conversionTimeFormat = "2006-01-02T15:04:05.9999999Z"

func (s *Server) convView(c *conversion, now time.Time) conversionJSON {
	v := conversionJSON{ID: c.id, CreationTime: c.created.UTC().Format(conversionTimeFormat), Settings: c.settings}
	switch {
	case c.phase == phaseDone:
		v.Status, v.Error = c.status, c.err
		if c.output != "" {
			v.Output = &conversionOutput{OutputAssetURI: c.output}
		}
	case now.Before(c.created.Add(s.opts.ConversionAfter / 4)):
		v.Status = convNotStarted
	default:
		v.Status = convRunning
	}
	return v
}

func (s *Server) createConversion(w http.ResponseWriter, r *http.Request, id string) {
	body, ok := s.createBody(w, r, "conversion", id)
	if !ok {
		return
	}
	req, e := decodeConversionCreate(body)
	if e != nil {
		s.writeAPIError(w, http.StatusBadRequest, e)
		return
	}
	if !s.opts.LinkedStorage && (req.ReadSAS == "" || req.WriteSAS == "") {
		s.writeAPIError(w, http.StatusForbidden, errNoStorageAccess)
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	if c, ok := s.conversions[id]; ok {
		same := c.settings == req.Settings
		var v conversionJSON
		if same {
			v = s.convView(c, now)
		}
		s.mu.Unlock()
		if !same {
			s.writeAPIError(w, http.StatusConflict, errConflict)
			return
		}
		s.writeJSON(w, http.StatusOK, v, false)
		return
	}
	s.seq++
	c := &conversion{id: id, seq: s.seq, settings: req.Settings, readSAS: req.ReadSAS, writeSAS: req.WriteSAS, created: now, done: make(chan struct{})}
	s.conversions[id] = c
	s.convList = append(s.convList, c)
	v := s.convView(c, now)
	s.mu.Unlock()
	s.poke()
	s.writeJSON(w, http.StatusCreated, v, false)
}

func (s *Server) getConversion(w http.ResponseWriter, r *http.Request, id string) {
	now := s.clock.Now()
	s.mu.RLock()
	c, ok := s.conversions[id]
	due := ok && c.phase != phaseDone && !now.Before(c.created.Add(s.opts.ConversionAfter))
	s.mu.RUnlock()
	if !ok {
		s.writeEmpty(w, http.StatusNotFound, true)
		return
	}
	if due {
		// Finish it now (or wait for the worker that is finishing it), so a
		// poll that finds the conversion due always sees its result.
		s.process(c)
		select {
		case <-c.done:
		case <-r.Context().Done():
			return
		}
	}
	s.mu.RLock()
	v := s.convView(c, now)
	s.mu.RUnlock()
	s.writeJSON(w, http.StatusOK, v, true)
}

func (s *Server) listConversions(w http.ResponseWriter, r *http.Request) {
	after, ok := parseSkip(r)
	if !ok {
		s.writeAPIError(w, http.StatusBadRequest, errMalformed)
		return
	}
	now := s.clock.Now()
	s.mu.RLock()
	items, last, more := page(s.convList, after, s.opts.PageSize, func(c *conversion) (uint64, bool) { return c.seq, true },
		func(c *conversion) conversionJSON { return s.convView(c, now) })
	s.mu.RUnlock()
	var next *string
	if more {
		l := nextLink(r, last)
		next = &l
	}
	// Unlike sessions, the conversion list always has "@nextLink" (null on
	// the last page), and no Cache-Control.
	s.writeJSON(w, http.StatusOK, struct {
		Conversions []conversionJSON `json:"conversions"`
		NextLink    *string          `json:"@nextLink"`
	}{items, next}, false)
}

// poke wakes the conversion worker.
func (s *Server) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// conversionWorker finishes due conversions that nobody polls, so the
// output blob appears on time (one goroutine for all conversions).
func (s *Server) conversionWorker() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := s.processDue()
		wait := time.Hour
		if !next.IsZero() {
			wait = max(s.clock.realUntil(next), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// processDue runs every due conversion and returns when the next is due.
func (s *Server) processDue() time.Time {
	now := s.clock.Now()
	var due []*conversion
	var next time.Time
	s.mu.RLock()
	for _, c := range s.convList {
		if c.phase != phasePending {
			continue
		}
		at := c.created.Add(s.opts.ConversionAfter)
		if !now.Before(at) {
			due = append(due, c)
		} else if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	s.mu.RUnlock()
	for _, c := range due {
		if s.ctx.Err() != nil {
			break
		}
		s.process(c)
	}
	return next
}

// process performs the conversion's blob transfers once, whoever gets there
// first; others keep seeing Running until it is done.
func (s *Server) process(c *conversion) {
	s.mu.Lock()
	if c.phase != phasePending {
		s.mu.Unlock()
		return
	}
	c.phase = phaseProcessing
	settings, readSAS, writeSAS := c.settings, c.readSAS, c.writeSAS
	s.mu.Unlock()

	out, e := s.convert(s.ctx, settings, readSAS, writeSAS)
	s.stats.conversionsRun.Add(1)

	s.mu.Lock()
	c.phase = phaseDone
	if e != nil {
		c.status, c.err = convFailed, e
	} else {
		c.status, c.output = convSucceeded, out
	}
	s.mu.Unlock()
	close(c.done)
	s.log.LogAttrs(s.ctx, slog.LevelInfo, "arrsim conversion finished",
		slog.String("id", c.id), slog.String("status", c.status))
}

// blobVersion is the storage REST version sent with blob calls; Azurite and
// Azure both accept it.
const blobVersion = "2021-12-02"

// convert reads the input blob and writes the .arrAsset, returning the
// output asset URI (without SAS).
func (s *Server) convert(ctx context.Context, st conversionSettings, readSAS, writeSAS string) (string, *apiError) {
	in, out := st.InputLocation, st.OutputLocation
	var err error
	if readSAS == "" && s.opts.LinkedStorageSAS != nil {
		if readSAS, err = s.opts.LinkedStorageSAS(in.StorageContainerURI, false); err != nil {
			return "", errInputDenied
		}
	}
	if writeSAS == "" && s.opts.LinkedStorageSAS != nil {
		if writeSAS, err = s.opts.LinkedStorageSAS(out.StorageContainerURI, true); err != nil {
			return "", errOutputDenied
		}
	}
	inURL, err := blobURL(in.StorageContainerURI, in.BlobPrefix+in.RelativeInputAssetPath, readSAS)
	if err != nil {
		return "", errInternalConv
	}
	if _, err := blobURL(out.StorageContainerURI, out.BlobPrefix+out.OutputAssetFilename, writeSAS); err != nil {
		return "", errInternalConv
	}
	pathSum := sha256.Sum256([]byte(in.BlobPrefix + in.RelativeInputAssetPath))
	run := &conversionRun{inputSHA256: pathSum[:]}
	// invalid records why the input cannot be converted in result.json, as
	// ARR does, before answering ConversionProcessFailed.
	invalid := func(code, title string) (string, *apiError) {
		run.fail(code, title, map[string]string{"input": in.RelativeInputAssetPath})
		s.writeOutputFiles(ctx, st, writeSAS, run)
		return "", errInvalidInput
	}
	if !inputFormats[strings.ToLower(path.Ext(in.RelativeInputAssetPath))] {
		return invalid("arrsim:unsupportedFormat", "Unsupported input format")
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, inURL, nil)
	if err != nil {
		return "", errInternalConv
	}
	req.Header.Set("x-ms-version", blobVersion)
	resp, err := s.client.Do(req)
	if err != nil {
		// The error text holds the URL and so the SAS: log only that it failed.
		s.log.LogAttrs(ctx, slog.LevelWarn, "arrsim input blob unreachable", slog.String("container", in.StorageContainerURI))
		return "", errInternalConv
	}
	s.stats.blobReads.Add(1)
	h := sha256.New()
	var gltf bytes.Buffer // a .gltf is read for the side files it names
	var sink io.Writer = h
	isGLTF := strings.EqualFold(path.Ext(in.RelativeInputAssetPath), ".gltf")
	if isGLTF {
		sink = io.MultiWriter(h, &gltf)
	}
	n, copyErr := io.Copy(sink, resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return invalid("arrsim:inputNotFound", "Input file not found")
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized:
		return "", errInputDenied
	case resp.StatusCode != http.StatusOK || copyErr != nil:
		return "", errInternalConv
	case n == 0:
		return invalid("arrsim:emptyInput", "Input file is empty")
	}
	run.inputBytes, run.inputSHA256 = n, h.Sum(nil)
	s.readSettings(ctx, in, readSAS, run)
	if isGLTF && !run.failed() {
		s.checkGLTFFiles(ctx, in, readSAS, gltf.Bytes(), run)
	}
	if run.failed() {
		s.writeOutputFiles(ctx, st, writeSAS, run)
		return "", errInvalidInput
	}

	asset := fmt.Sprintf("arrsim-arrAsset/1\nsource: %s\nbytes: %d\nsha256: %s\n",
		in.BlobPrefix+in.RelativeInputAssetPath, n, hex.EncodeToString(run.inputSHA256))
	status, err := s.putBlob(ctx, out.StorageContainerURI, out.BlobPrefix+out.OutputAssetFilename, writeSAS, "application/octet-stream", []byte(asset))
	switch {
	case err != nil:
		return "", errInternalConv
	case status == http.StatusCreated, status == http.StatusOK:
	case status == http.StatusForbidden, status == http.StatusUnauthorized, status == http.StatusNotFound:
		return "", errOutputDenied
	default:
		return "", errInternalConv
	}
	if !s.writeOutputFiles(ctx, st, writeSAS, run) {
		return "", errInternalConv
	}
	return strings.TrimSuffix(out.StorageContainerURI, "/") + "/" + out.BlobPrefix + out.OutputAssetFilename, nil
}

// blobURL joins a container URI, a blob path and a SAS query.
func blobURL(container, blob, sas string) (string, error) {
	u, err := url.Parse(container)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("invalid storage container URI")
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + blob
	u.RawPath = ""
	u.RawQuery = sas
	return u.String(), nil
}
