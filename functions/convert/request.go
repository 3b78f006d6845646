package convert

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
)

// Rejection codes of the convert command.
const (
	RejectInputNotFound = "InputNotFound"
	RejectSideFile      = "SideFile"
)

// Request converts a blob already in the input container (the convert
// command) with the same checks, records and events as an upload, intent
// first: the record is Requested before ARR is asked. The id derives from
// the input and the command's MessageId, so a redelivered command finds its
// record and starts nothing (or resumes a start an earlier delivery left
// Requested); a new command converts again. created reports whether this
// call took the conversion to ARR's answer or a rejection.
func (d Deps) Request(ctx context.Context, r functions.ConvertRequest) (*arrops.Conversion, bool, error) {
	now := d.Now().UTC()
	recs, err := d.Records.Get(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("open records: %w", err)
	}
	container := d.Config.InputContainer
	id := ConversionID(container, r.Input, "command:"+r.MessageID)
	log := functions.Logger(ctx).With("conversionId", id, "blob", container+"/"+r.Input)
	if existing, err := recs.GetConversion(ctx, id); err == nil && existing.Status != arrops.ConversionRequested {
		log.Info("convert command redelivered; conversion already recorded", "status", existing.Status)
		return existing, false, nil
	} else if err != nil && arrops.ErrorCode(err) != arrops.ENOTFOUND {
		return nil, false, fmt.Errorf("read conversion %s: %w", id, err)
	}
	c := &arrops.Conversion{ID: id, InputContainer: container, InputPath: r.Input, OutputContainer: d.Config.OutputContainer,
		OutputPath: r.Output, RequestedBy: r.RequestedBy, ReplyTo: r.ReplyTo, CorrelationID: r.MessageID, CreatedAt: now}
	h := &handler{Deps: d, recs: recs, log: log, now: now}
	reject := func(rej *Rejection) (*arrops.Conversion, bool, error) {
		c.Status, c.ErrorCode, c.ErrorMessage, c.CompletedAt = arrops.ConversionRejected, rej.Code, arrops.Clip(rej.Reason, arrops.MaxTextBytes), now
		stored, created, err := recs.CreateConversion(ctx, c)
		if err != nil {
			return nil, false, fmt.Errorf("record rejected conversion %s: %w", id, err)
		}
		log.Info("convert command rejected", "code", rej.Code, "reason", rej.Reason)
		return stored, created, nil
	}
	if err := checkInput(container, r.Input, d.Config.InputContainer, d.Config.InputPrefix); err != nil {
		var rej *Rejection
		if errors.As(err, &rej) {
			return reject(rej)
		}
		return reject(&Rejection{RejectSideFile, fmt.Sprintf("%s is a side file, not a model: convert the model it belongs to", r.Input)})
	}
	if d.Blobs != nil {
		blobs, err := d.Blobs.Get(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("open blob reader: %w", err)
		}
		etag, size, err := blobs.BlobProperties(ctx, container, r.Input)
		switch {
		case arrops.ErrorCode(err) == arrops.ENOTFOUND:
			return reject(&Rejection{RejectInputNotFound, fmt.Sprintf("there is no blob %s/%s to convert", container, r.Input)})
		case arrops.ErrorCode(err) == arrops.EINVALID:
			return reject(&Rejection{RejectInputNotFound, fmt.Sprintf("storage refused to read %s/%s as a blob", container, r.Input)})
		case err != nil:
			return nil, false, err
		case size == 0:
			return reject(&Rejection{RejectEmpty, "the blob to convert is empty (0 bytes)"})
		}
		c.InputETag, c.InputSize = etag, size
	}
	if strings.EqualFold(path.Ext(r.Input), ".gltf") {
		c.Note = gltfNote
	}
	if c.OutputPath == "" {
		_, _, outPrefix, outName := h.output(c.InputPath)
		c.OutputPath = outPrefix + outName
	}
	c.Status = arrops.ConversionRequested
	rec, _, err := recs.CreateConversion(ctx, c)
	if err != nil {
		return nil, false, fmt.Errorf("record the conversion %s: %w", id, err)
	}
	if rec.Status != arrops.ConversionRequested {
		return rec, false, nil // a concurrent delivery took it to ARR's answer
	}
	return h.start(ctx, rec, log)
}
