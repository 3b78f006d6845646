// Package convert is the `convert` function (storage queue arr-blob-created,
// fed by Event Grid BlobCreated events from the input container): it validates
// each upload and starts an ARR conversion to .arrAsset.
//
// Uploads ARR cannot convert (other formats, names ARR fails on, empty blobs,
// blobs outside the input location, non-BlobCreated events) are recorded as
// Rejected with the reason, and no ARR call is made. The conversion id is
// derived from container, path and eTag, so a redelivered event is a no-op and
// a re-upload is a new conversion. The output mirrors the input path under the
// output container and prefix. `watch` follows the conversion to its end.
//
// Side files (<model>.ConversionSettings.json, <model>.MaterialOverrides.json,
// the deprecated conversionSettings.json) start nothing when uploaded; they
// are validated when their model is converted, and an invalid one rejects the
// conversion with the file, field and reason (sidefiles.go, settings.go).
// Deps.Request converts a blob already in the input container again: the
// commands function's convert action.
package convert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/arr"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/functions"
	"github.com/arrops/arrops/trigger"
)

// Binding is the queue trigger binding name in function.json.
const Binding = "msg"

// Deps are the function's collaborators.
type Deps struct {
	Config  *config.Config
	ARR     *functions.Lazy[*arr.Client]
	Records *functions.Lazy[functions.ConversionRecords]
	Bus     *functions.Lazy[functions.Publisher]
	Access  *functions.Lazy[*Access]
	// Blobs reads side files before a start and ARR's output files of a
	// conversion that ends at once; nil skips both.
	Blobs *functions.Lazy[functions.BlobReader]
	Now   func() time.Time
	// FollowUps is kicked when a conversion starts, so its end is seen
	// within seconds.
	FollowUps *functions.FollowUps
}

// New returns the function.
func New(d Deps) functions.Func {
	return func(ctx context.Context, inv *trigger.Invocation, _ *trigger.Response, log *slog.Logger) error {
		now := d.Now().UTC()
		recs, err := d.Records.Get(ctx)
		if err != nil {
			return fmt.Errorf("open records: %w", err)
		}
		msg, err := inv.QueueMessage(Binding)
		var events []trigger.BlobEvent
		if err == nil {
			events, err = trigger.DecodeBlobEvents(msg.Body)
		}
		if err != nil {
			sum := sha256.Sum256(msg.Body)
			c := &arrops.Conversion{ID: "event-" + hex.EncodeToString(sum[:12]), Status: arrops.ConversionRejected,
				ErrorCode: RejectUndecodableEvent, ErrorMessage: arrops.Clip(err.Error(), arrops.MaxTextBytes), CreatedAt: now, CompletedAt: now}
			log.Warn("undecodable blob event", "err", err)
			_, _, err := recs.CreateConversion(ctx, c)
			return err
		}
		h := &handler{Deps: d, recs: recs, log: log, now: now}
		var errs []error
		for i := range events {
			if err := h.event(ctx, &events[i]); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

type handler struct {
	Deps
	recs functions.ConversionRecords
	log  *slog.Logger
	now  time.Time
}

func (h *handler) event(ctx context.Context, ev *trigger.BlobEvent) error {
	in, verr := Validate(ev, h.Config.InputContainer, h.Config.InputPrefix)
	var skip *Skip
	if errors.As(verr, &skip) {
		h.log.Info("blob event skipped", "eventId", ev.ID, "subject", ev.Subject, "api", ev.Data.API, "reason", skip.Reason)
		return nil
	}
	id := ConversionID(in.Container, in.Path, in.ETag)
	if in.Path == "" {
		id = ConversionID("event", ev.ID, ev.EventType)
	}
	log := h.log.With("conversionId", id, "blob", in.Container+"/"+in.Path)
	c := &arrops.Conversion{ID: id, InputContainer: in.Container, InputPath: in.Path, InputETag: in.ETag,
		InputSize: in.Size, OutputContainer: h.Config.OutputContainer, Note: in.Note, CreatedAt: h.now}
	var rej *Rejection
	if errors.As(verr, &rej) {
		// No read first: the conditional insert already turns a redelivery
		// into a no-op, and a rejection makes no ARR call to protect.
		c.Status, c.ErrorCode, c.ErrorMessage, c.CompletedAt = arrops.ConversionRejected, rej.Code, arrops.Clip(rej.Reason, arrops.MaxTextBytes), h.now
		// The event's subject is outside input: a rejected name may be over
		// any limit, and its record must still fit a Table property.
		c.InputContainer, c.InputPath = arrops.Clip(c.InputContainer, arrops.MaxTextBytes), arrops.Clip(c.InputPath, 4*arrops.BlobMaxNameLength)
		stored, created, err := h.recs.CreateConversion(ctx, c)
		if err != nil {
			return fmt.Errorf("record rejected conversion %s: %w", id, err)
		}
		if created {
			log.Info("upload rejected", "code", rej.Code, "reason", rej.Reason)
		} else if stored.Announced == stored.Status {
			log.Info("blob event redelivered; rejection already recorded", "code", rej.Code)
			return nil
		}
		// Announced as ConversionFailed; a redelivery finishes an
		// announcement a crash interrupted.
		return h.announce(ctx, stored)
	}
	if verr != nil {
		return verr
	}
	// Intent first: the record exists before ARR is asked. A redelivery
	// finds it and reaches ARR again only while it is still Requested (an
	// earlier attempt failed between the insert and ARR's answer).
	c.Status = arrops.ConversionRequested
	_, _, outPrefix, outName := h.output(c.InputPath)
	c.OutputPath = outPrefix + outName
	rec, created, err := h.recs.CreateConversion(ctx, c)
	if err != nil {
		return fmt.Errorf("record the conversion %s: %w", id, err)
	}
	if !created && rec.Status != arrops.ConversionRequested {
		log.Info("blob event redelivered; conversion already recorded", "status", rec.Status)
		return nil
	}
	_, _, err = h.start(ctx, rec, log)
	return err
}

// output maps an input blob path to ARR's input prefix and file, and the
// output prefix and asset name: the output mirrors the input path under the
// output prefix.
func (h *handler) output(inputPath string) (dir, file, outPrefix, outName string) {
	dir, file = path.Split(inputPath)
	outDir := strings.TrimPrefix(dir, h.Config.InputPrefix)
	outPrefix = h.Config.OutputPrefix
	if outPrefix != "" && !strings.HasSuffix(outPrefix, "/") {
		outPrefix += "/"
	}
	outPrefix += outDir
	outName = strings.TrimSuffix(file, path.Ext(file)) + ".arrAsset"
	return dir, file, outPrefix, outName
}

// start takes a Requested record c to ARR's answer: it checks the model's
// side files (an invalid one records c Rejected, with no ARR call), asks ARR
// to convert the input to c.OutputPath, and records the outcome. It returns
// the record as stored and whether this call recorded the outcome (false
// when a concurrent delivery or the sweep did first).
func (h *handler) start(ctx context.Context, c *arrops.Conversion, log *slog.Logger) (*arrops.Conversion, bool, error) {
	// side is what the side-file check found, written with the outcome.
	side := &arrops.Conversion{Note: c.Note}
	var rejected *Rejection
	if err := h.checkSideFiles(ctx, c.InputContainer, c.InputPath, side, log); err != nil && !errors.As(err, &rejected) {
		return nil, false, err
	}
	if rejected != nil {
		log.Info("conversion rejected: invalid side file", "code", rejected.Code, "reason", rejected.Reason)
		return h.record(ctx, c, side, func(c *arrops.Conversion) {
			c.Status, c.ErrorCode, c.ErrorMessage, c.CompletedAt = arrops.ConversionRejected, rejected.Code, arrops.Clip(rejected.Reason, arrops.MaxTextBytes), h.now
		})
	}
	arrc, err := h.ARR.Get(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("open ARR client: %w", err)
	}
	acc, err := h.Access.Get(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("storage access: %w", err)
	}
	dir, file := path.Split(c.InputPath)
	outPrefix, outName := path.Split(c.OutputPath)

	readSAS, err := acc.ReadList(ctx, c.InputContainer, h.now)
	if err != nil {
		return nil, false, err
	}
	writeSAS, err := acc.Write(ctx, c.OutputContainer, h.now)
	if err != nil {
		return nil, false, err
	}
	settings := arr.ConversionSettings{
		InputLocation: arr.InputLocation{StorageContainerURI: acc.ContainerURL(c.InputContainer),
			RelativeInputAssetPath: file, StorageContainerReadListSAS: readSAS},
		OutputLocation: arr.OutputLocation{StorageContainerURI: acc.ContainerURL(c.OutputContainer),
			OutputAssetFilename: &outName, StorageContainerWriteSAS: writeSAS},
	}
	if dir != "" {
		settings.InputLocation.BlobPrefix = &dir
	}
	if outPrefix != "" {
		settings.OutputLocation.BlobPrefix = &outPrefix
	}
	// answer records the outcome into the Requested record.
	var answer func(*arrops.Conversion)
	code, reason, err := acc.CheckOutput(ctx, c.OutputContainer, writeSAS)
	if err != nil {
		return nil, false, err
	}
	if code != "" {
		// No ARR call: the conversion would run and then fail to write.
		answer = func(c *arrops.Conversion) {
			c.Status, c.ErrorCode, c.ErrorMessage, c.CompletedAt = arrops.ConversionFailed, code, reason, h.now
		}
		log.Warn("output container unusable; conversion not started", "code", code, "reason", reason)
	} else {
		resp, err := arrc.CreateConversion(ctx, c.ID, settings, nil)
		switch arrops.ErrorCode(err) {
		case "":
			answer = func(c *arrops.Conversion) { functions.ApplyConversion(c, &resp.Conversion, h.now) }
		case arrops.ECONFLICT:
			// A crashed earlier attempt created it (with another SAS): follow it.
			got, gerr := arrc.GetConversion(ctx, c.ID, nil)
			if gerr != nil {
				return nil, false, fmt.Errorf("create conversion %s: conflict, then %w", c.ID, gerr)
			}
			answer = func(c *arrops.Conversion) { functions.ApplyConversion(c, &got.Conversion, h.now) }
		case arrops.EINVALID, arrops.ENOTFOUND, arrops.EUNAUTHORIZED:
			// Permanent (e.g. 403 DelegatedResourceAccessError: storage not
			// linked, no SAS): record it as Failed with ARR's code, message and
			// MS-CV; the conversion.failed event tells the uploader.
			code, msg := "InvalidSettings", arrops.ErrorMessage(err) // refused before the call
			if re := (*arr.ResponseError)(nil); errors.As(err, &re) {
				code = re.ErrorCode
				if code == "" {
					code = http.StatusText(re.StatusCode)
				}
				msg = arrops.Clip(fmt.Sprintf("%s (HTTP %d, MS-CV %s)", re.Message, re.StatusCode, re.MSCV), arrops.MaxTextBytes)
			}
			if arrops.ErrorCode(err) == arrops.EUNAUTHORIZED {
				msg += "; " + functions.OperatorMustFix
				log.Error("ARR refused the conversion: credential, role or storage link; operator action needed", "err", err)
			} else {
				log.Warn("ARR refused the conversion", "err", err)
			}
			answer = func(c *arrops.Conversion) {
				c.Status, c.ErrorCode, c.ErrorMessage, c.CompletedAt = arrops.ConversionFailed, code, msg, h.now
			}
		default:
			return nil, false, fmt.Errorf("create conversion %s: %w", c.ID, err)
		}
	}
	stored, applied, err := h.record(ctx, c, side, answer)
	if err != nil {
		return nil, false, err
	}
	log.Info("conversion started", "status", stored.Status, "output", c.OutputContainer+"/"+c.OutputPath)
	return stored, applied, nil
}

// record writes the outcome of a start (answer, and what the side-file check
// found) into the Requested record, and announces an end reached at once.
func (h *handler) record(ctx context.Context, c, side *arrops.Conversion, answer func(*arrops.Conversion)) (*arrops.Conversion, bool, error) {
	applied := false
	stored, err := functions.ModifyConversion(ctx, h.recs, c.ID, c, func(c *arrops.Conversion) (bool, error) {
		applied = c.Status == arrops.ConversionRequested
		if !applied {
			return false, nil // the sweep or a concurrent delivery recorded the outcome
		}
		c.SettingsFile, c.Note = side.SettingsFile, arrops.Clip(side.Note, arrops.MaxTextBytes)
		answer(c)
		if c.Status == arrops.ConversionRequested || c.Status == "" {
			c.Status = arrops.ConversionNotStarted
		}
		return true, nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("record conversion %s: %w", c.ID, err)
	}
	if stored.Status.Terminal() {
		if err := h.announce(ctx, stored); err != nil {
			return nil, false, err
		}
	}
	if !stored.Status.Terminal() {
		functions.KickFollowUps(ctx, h.FollowUps, h.now, h.log)
	}
	return stored, applied, nil
}

// announce publishes the terminal conversion c once (functions.SyncConversion
// claims, publishes and clears).
func (h *handler) announce(ctx context.Context, c *arrops.Conversion) error {
	bus, err := h.Bus.Get(ctx)
	if err != nil {
		return fmt.Errorf("open messaging: %w", err)
	}
	var out functions.BlobReader
	if h.Blobs != nil && c.Status != arrops.ConversionRejected {
		if out, err = h.Blobs.Get(ctx); err != nil {
			return fmt.Errorf("open blob reader: %w", err)
		}
	}
	_, err = functions.SyncConversion(ctx, h.recs, bus, out, c, &arr.Conversion{ID: c.ID, Status: arr.ConversionStatus(c.Status)}, h.now)
	return err
}
