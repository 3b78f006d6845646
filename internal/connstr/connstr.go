// Package connstr parses Azure Storage connection strings (including Azurite's
// UseDevelopmentStorage=true) into endpoints and the shared key, for the few
// places that need more than the SDKs' own FromConnectionString constructors:
// signing SAS tokens and building container URLs.
package connstr

import (
	"errors"
	"fmt"
	"strings"
)

// Azurite's documented development account (public, not a secret).
const (
	devAccount = "devstoreaccount1"
	devKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Storage is a parsed storage connection string.
type Storage struct {
	AccountName, AccountKey                    string
	BlobEndpoint, QueueEndpoint, TableEndpoint string // without trailing slash
}

// String never includes the key.
func (s Storage) String() string {
	return fmt.Sprintf("storage account %s (blob %s)", s.AccountName, s.BlobEndpoint)
}

// ParseStorage parses cs. Errors never quote the input (it holds a key).
func ParseStorage(cs string) (Storage, error) {
	if strings.EqualFold(strings.TrimSpace(cs), "UseDevelopmentStorage=true") {
		return Storage{AccountName: devAccount, AccountKey: devKey,
			BlobEndpoint:  "http://127.0.0.1:10000/" + devAccount,
			QueueEndpoint: "http://127.0.0.1:10001/" + devAccount,
			TableEndpoint: "http://127.0.0.1:10002/" + devAccount}, nil
	}
	kv := map[string]string{}
	for _, part := range strings.Split(cs, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return Storage{}, errors.New("connection string: a part is not key=value")
		}
		kv[strings.ToLower(k)] = v
	}
	s := Storage{AccountName: kv["accountname"], AccountKey: kv["accountkey"],
		BlobEndpoint: strings.TrimRight(kv["blobendpoint"], "/"), QueueEndpoint: strings.TrimRight(kv["queueendpoint"], "/"),
		TableEndpoint: strings.TrimRight(kv["tableendpoint"], "/")}
	if s.AccountName == "" {
		return Storage{}, errors.New("connection string: AccountName is missing")
	}
	proto := kv["defaultendpointsprotocol"]
	if proto == "" {
		proto = "https"
	}
	suffix := kv["endpointsuffix"]
	if suffix == "" {
		suffix = "core.windows.net"
	}
	if s.BlobEndpoint == "" {
		s.BlobEndpoint = fmt.Sprintf("%s://%s.blob.%s", proto, s.AccountName, suffix)
	}
	if s.QueueEndpoint == "" {
		s.QueueEndpoint = fmt.Sprintf("%s://%s.queue.%s", proto, s.AccountName, suffix)
	}
	if s.TableEndpoint == "" {
		s.TableEndpoint = fmt.Sprintf("%s://%s.table.%s", proto, s.AccountName, suffix)
	}
	return s, nil
}
