package functions

import "context"

// BlobReader reads small blobs: the side files beside an upload and the
// files ARR writes beside an .arrAsset. convert.Blobs implements it.
type BlobReader interface {
	// ReadBlob returns the blob's content, an arrops.ENOTFOUND error when
	// it does not exist, or an arrops.EINVALID one when it is over limit bytes.
	ReadBlob(ctx context.Context, container, name string, limit int64) ([]byte, error)
	// BlobProperties returns the blob's eTag (unquoted) and size, or an
	// arrops.ENOTFOUND error.
	BlobProperties(ctx context.Context, container, name string) (etag string, size int64, err error)
}
