package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/internal/connstr"
)

// Message is one message, independent of the transport (arrops.Message).
type Message = arrops.Message

// ErrNoSuchEntity is wrapped by Publish errors when the queue or topic does
// not exist (for example a requester's reply queue that was deleted after it
// stopped listening). Retrying cannot help: its code is arrops.ENOTFOUND.
var ErrNoSuchEntity = arrops.Errorf(arrops.ENOTFOUND, "no such queue or topic")

// Publisher sends messages to a queue or topic.
type Publisher interface {
	// Publish sends msgs to entity (a queue or topic name). It fails when any
	// message has no MessageID. On error some messages may have been sent;
	// publishing again with the same ids is safe.
	Publish(ctx context.Context, entity string, msgs ...Message) error
}

// Receiver takes messages from a queue.
type Receiver interface {
	// Receive waits up to wait for the first message on the queue entity and
	// returns at most max messages, settled (they will not be delivered
	// again). No message within wait is not an error: it returns nil, nil.
	Receive(ctx context.Context, entity string, max int, wait time.Duration) ([]Message, error)
}

// Bus is a Publisher and Receiver over one transport, plus Close.
type Bus struct {
	Publisher
	Receiver
	close func(context.Context) error
}

// Close releases the transport's connections.
func (b *Bus) Close(ctx context.Context) error {
	if b.close == nil {
		return nil
	}
	return b.close(ctx)
}

// Options say which transport to open and how to reach it (the handler fills
// them from the app settings).
type Options struct {
	// Local selects storage queues (Azurite in local mode) instead of
	// Service Bus.
	Local bool
	// Service Bus: a connection string, or a fully qualified namespace used
	// with a credential.
	ServiceBusConnectionString, ServiceBusNamespace string
	// Storage queues: a connection string, or a queue service URL used with a
	// credential.
	StorageConnectionString, QueueServiceURL string
}

// New opens the transport opts name: Service Bus from a connection string or
// a namespace with cred; with opts.Local storage queues from a connection
// string or a queue service URL with cred. cred may be nil when a connection
// string is used. Nothing connects until the first message. Errors name the
// app setting (ServiceBusConnection, AzureWebJobsStorage) and never quote a
// connection string.
func New(opts Options, cred azcore.TokenCredential) (*Bus, error) {
	if !opts.Local {
		var (
			client *azservicebus.Client
			err    error
		)
		if opts.ServiceBusConnectionString != "" {
			client, err = azservicebus.NewClientFromConnectionString(opts.ServiceBusConnectionString, nil)
			if err != nil {
				// The SDK's parse errors do not quote the string; keep it that way.
				return nil, fmt.Errorf("setting ServiceBusConnection: %w", err)
			}
		} else {
			if cred == nil {
				return nil, errors.New("notify: ServiceBusConnection__fullyQualifiedNamespace needs a credential")
			}
			if client, err = azservicebus.NewClient(opts.ServiceBusNamespace, cred, nil); err != nil {
				return nil, fmt.Errorf("setting ServiceBusConnection__fullyQualifiedNamespace: %w", err)
			}
		}
		sb := NewServiceBus(client)
		return &Bus{Publisher: sb, Receiver: sb, close: func(ctx context.Context) error {
			return errors.Join(sb.Close(ctx), client.Close(ctx))
		}}, nil
	}
	svc, err := QueueService(opts.StorageConnectionString, opts.QueueServiceURL, cred)
	if err != nil {
		return nil, err
	}
	l := NewLocal(svc, arrops.EventsTopic)
	return &Bus{Publisher: l, Receiver: l}, nil
}

// QueueService connects to a storage account's queue service from a
// connection string (including UseDevelopmentStorage=true) or, when cs is
// empty, from queueServiceURL and cred. Errors never quote cs.
func QueueService(cs, queueServiceURL string, cred azcore.TokenCredential) (*azqueue.ServiceClient, error) {
	if cs != "" {
		st, err := connstr.ParseStorage(cs)
		if err != nil {
			return nil, fmt.Errorf("setting AzureWebJobsStorage: %w", err)
		}
		if st.AccountKey == "" {
			svc, err := azqueue.NewServiceClientFromConnectionString(cs, nil)
			if err != nil {
				return nil, errors.New("setting AzureWebJobsStorage: neither an AccountKey nor a usable SharedAccessSignature")
			}
			return svc, nil
		}
		key, err := azqueue.NewSharedKeyCredential(st.AccountName, st.AccountKey)
		if err != nil {
			return nil, errors.New("setting AzureWebJobsStorage: the AccountKey is not valid base64")
		}
		return azqueue.NewServiceClientWithSharedKeyCredential(st.QueueEndpoint+"/", key, nil)
	}
	if queueServiceURL == "" || cred == nil {
		return nil, errors.New("notify: local mode needs AzureWebJobsStorage or AzureWebJobsStorage__queueServiceUri with a credential")
	}
	return azqueue.NewServiceClient(strings.TrimRight(queueServiceURL, "/")+"/", cred, nil)
}

func checkIDs(entity string, msgs []Message) error {
	for i, m := range msgs {
		if m.MessageID == "" {
			return fmt.Errorf("publish to %s: message %d has no MessageID", entity, i)
		}
	}
	return nil
}
