package commands

import (
	"context"
	"fmt"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/functions"
)

// convert runs {"action":"convert","input":...}: the blob is converted again
// with the same checks, records and events as an upload; the conversion's
// events also go to the command's ReplyTo. The audit row and the reply name
// the conversion. A redelivery finds the record its first delivery made.
func (h *run) convert(ctx context.Context) error {
	if h.Convert == nil {
		return h.finish(ctx, arrops.OutcomeRejected, "", "convert is not available in this deployment", nil, "")
	}
	if h.msg.MessageID == "" {
		return h.finish(ctx, arrops.OutcomeRejected, "", "convert needs a MessageId to make the conversion id from", nil, "")
	}
	c, created, err := h.Convert(ctx, functions.ConvertRequest{Input: h.cmd.Input, Output: h.cmd.Output,
		RequestedBy: h.cmd.RequestedBy, MessageID: h.msg.MessageID, ReplyTo: h.msg.ReplyTo})
	if err != nil {
		return fmt.Errorf("convert %s: %w", h.cmd.Input, err)
	}
	h.conv = c
	switch {
	case c.Status == arrops.ConversionRejected:
		return h.finish(ctx, arrops.OutcomeRejected, "", fmt.Sprintf("%s: %s", c.ErrorCode, c.ErrorMessage), nil, "")
	case !created:
		return h.finish(ctx, arrops.OutcomeNoop, "", fmt.Sprintf("redelivery: conversion %s is already %s", c.ID, c.Status), nil, "")
	case c.Status == arrops.ConversionFailed:
		// ARR refused the start (e.g. storage not linked): recorded and announced.
		return h.finish(ctx, arrops.OutcomeRejected, "", fmt.Sprintf("ARR refused the conversion: %s: %s", c.ErrorCode, c.ErrorMessage), nil, "")
	}
	return h.finish(ctx, arrops.OutcomeAccepted, "", fmt.Sprintf("conversion %s started: %s/%s -> %s/%s", c.ID,
		c.InputContainer, c.InputPath, c.OutputContainer, c.OutputPath), nil, "")
}
