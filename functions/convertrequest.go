package functions

import (
	"context"

	"github.com/arrops/arrops"
)

// ConvertRequest asks for a conversion of a blob that is already in the input
// container: the convert command.
type ConvertRequest struct {
	Input       string // blob path inside the input container
	Output      string // optional .arrAsset path inside the output container
	RequestedBy string
	MessageID   string // the command's; the conversion id derives from it
	ReplyTo     string // events of the conversion also go there
}

// Converter starts the conversion a ConvertRequest asks for (convert.Deps.Request).
// It returns the record (Rejected when the blob or its side files fail the
// checks) and whether this call created it; errors are transient.
type Converter func(ctx context.Context, r ConvertRequest) (c *arrops.Conversion, created bool, err error)
