package notify

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"github.com/arrops/arrops"
)

// classify gives a bus failure its arrops code, the messaging half of the
// README's error contract (Service Bus, or storage queues in local mode):
//
//	no such queue or topic (Service Bus NotFound, queue 404)   ENOTFOUND, wraps ErrNoSuchEntity
//	credential or role (UnauthorizedAccess, 401, 403)          EUNAUTHORIZED
//	message too large, other 4xx                               EINVALID
//	timeouts, lost connections, 408, 429, 5xx, anything else   EINTERNAL
//
// The text is kept; errors.As still finds the SDK's error.
func classify(err error) error {
	var (
		sbErr *azservicebus.Error
		re    *azcore.ResponseError
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &sbErr) && sbErr.Code == azservicebus.CodeNotFound:
		return fmt.Errorf("%w: %w", ErrNoSuchEntity, err)
	case errors.As(err, &sbErr) && sbErr.Code == azservicebus.CodeUnauthorizedAccess:
		return arrops.WithCode(arrops.EUNAUTHORIZED, err)
	case errors.Is(err, azservicebus.ErrMessageTooLarge):
		return arrops.WithCode(arrops.EINVALID, err)
	case errors.As(err, &re):
		switch s := re.StatusCode; {
		case s == http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNoSuchEntity, err)
		case s == http.StatusUnauthorized, s == http.StatusForbidden:
			return arrops.WithCode(arrops.EUNAUTHORIZED, err)
		case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests:
		case s >= 400 && s < 500:
			return arrops.WithCode(arrops.EINVALID, err)
		}
	}
	return arrops.WithCode(arrops.EINTERNAL, err)
}
