package store

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
)

// kind describes one record type (session or conversion) to the shared
// create / get / update / range code below.
type kind[T any] struct {
	name    string // "session", for messages
	client  func(*Store) *aztables.Client
	id      func(*T) string
	created func(*T) *time.Time
	updated func(*T) *time.Time
	etag    func(*T) *string
	encode  func(pk string, v *T) ([]byte, error)
	decode  func(b []byte, etag string) (*T, error)
}

var sessionKind = kind[arrops.Session]{
	name:    "session",
	client:  func(s *Store) *aztables.Client { return s.sessions },
	id:      func(v *arrops.Session) string { return v.ID },
	created: func(v *arrops.Session) *time.Time { return &v.CreatedAt },
	updated: func(v *arrops.Session) *time.Time { return &v.UpdatedAt },
	etag:    func(v *arrops.Session) *string { return &v.ETag },
	encode:  encodeSession,
	decode:  decodeSession,
}

var conversionKind = kind[arrops.Conversion]{
	name:    "conversion",
	client:  func(s *Store) *aztables.Client { return s.conversions },
	id:      func(v *arrops.Conversion) string { return v.ID },
	created: func(v *arrops.Conversion) *time.Time { return &v.CreatedAt },
	updated: func(v *arrops.Conversion) *time.Time { return &v.UpdatedAt },
	etag:    func(v *arrops.Conversion) *string { return &v.ETag },
	encode:  encodeConversion,
	decode:  decodeConversion,
}

func (k *kind[T]) cacheKey(id string) string { return k.name + "/" + id }

// day returns the partition of id's record: from the cache, else from the
// index entity. An id without an index entity is ENOTFOUND.
func (k *kind[T]) day(ctx context.Context, s *Store, id string) (string, error) {
	if d, ok := s.days.get(k.cacheKey(id)); ok {
		return d, nil
	}
	resp, err := k.client(s).GetEntity(ctx, indexPartition, id, nil)
	if isNotFound(err) {
		return "", arrops.Errorf(arrops.ENOTFOUND, "%s %s not found", k.name, id)
	} else if err != nil {
		return "", fmt.Errorf("read index of %s %s: %w", k.name, id, classify(err))
	}
	var ix indexEntity
	if err := json.Unmarshal(resp.Value, &ix); err != nil || ix.Day == "" {
		return "", fmt.Errorf("index of %s %s is damaged (no Day)", k.name, id)
	}
	s.days.put(k.cacheKey(id), ix.Day)
	return ix.Day, nil
}

func (k *kind[T]) get(ctx context.Context, s *Store, id string) (*T, error) {
	if err := validID(k.name, id); err != nil {
		return nil, err
	}
	day, err := k.day(ctx, s, id)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", k.name, err)
	}
	resp, err := k.client(s).GetEntity(ctx, day, id, nil)
	if isNotFound(err) {
		// Index written, record not (yet): a create is in flight or crashed
		// between its two writes; to readers the record does not exist.
		return nil, fmt.Errorf("get %s: %w", k.name, arrops.Errorf(arrops.ENOTFOUND, "%s %s not found", k.name, id))
	} else if err != nil {
		return nil, fmt.Errorf("get %s %s: %w", k.name, id, classify(err))
	}
	return k.decode(resp.Value, string(resp.ETag))
}

// create inserts v unless a record with its id exists; see CreateSession.
func (k *kind[T]) create(ctx context.Context, s *Store, v *T) (*T, bool, error) {
	id := k.id(v)
	if err := validID(k.name, id); err != nil {
		return nil, false, err
	}
	now := s.now()
	if k.created(v).IsZero() {
		*k.created(v) = now.UTC()
	}
	day := dayKey(*k.created(v))
	prevUpdated := *k.updated(v)
	*k.updated(v) = now.UTC()
	// Held to the limits before anything is written, the index included.
	body, err := k.encode(day, v)
	if err == nil {
		err = checkEntity(k.name, id, body)
	}
	if err != nil {
		*k.updated(v) = prevUpdated
		return nil, false, err
	}
	ix, err := json.Marshal(indexEntity{PartitionKey: indexPartition, RowKey: id, Day: day})
	if err != nil {
		*k.updated(v) = prevUpdated
		return nil, false, err
	}
	c := k.client(s)
	if _, err := c.AddEntity(ctx, ix, nil); isConflict(err) {
		// Known id: use the day it was first recorded under.
		known := day
		if day, err = k.day(ctx, s, id); err != nil {
			*k.updated(v) = prevUpdated
			return nil, false, fmt.Errorf("create %s: %w", k.name, err)
		}
		if day != known {
			if body, err = k.encode(day, v); err != nil {
				*k.updated(v) = prevUpdated
				return nil, false, err
			}
		}
	} else if err != nil {
		*k.updated(v) = prevUpdated
		return nil, false, fmt.Errorf("create %s %s: write index: %w", k.name, id, classify(err))
	}
	s.days.put(k.cacheKey(id), day)

	resp, err := c.AddEntity(ctx, body, nil)
	switch {
	case err == nil:
		*k.etag(v) = string(resp.ETag)
		return v, true, nil
	case isConflict(err):
		*k.updated(v) = prevUpdated
		resp, err := c.GetEntity(ctx, day, id, nil)
		if err != nil {
			return nil, false, fmt.Errorf("create %s %s: read existing: %w", k.name, id, classify(err))
		}
		existing, err := k.decode(resp.Value, string(resp.ETag))
		if err != nil {
			return nil, false, err
		}
		return existing, false, nil
	default:
		*k.updated(v) = prevUpdated
		return nil, false, fmt.Errorf("create %s %s: %w", k.name, id, classify(err))
	}
}

// update replaces v's record if it still has v's ETag.
func (k *kind[T]) update(ctx context.Context, s *Store, v *T) error {
	id := k.id(v)
	if err := validID(k.name, id); err != nil {
		return err
	}
	if *k.etag(v) == "" {
		return arrops.Errorf(arrops.EINVALID, "update %s %s without an ETag: read or create it first", k.name, id)
	}
	day, err := k.day(ctx, s, id)
	if err != nil {
		return fmt.Errorf("update %s: %w", k.name, err)
	}
	prevUpdated := *k.updated(v)
	*k.updated(v) = s.now().UTC()
	body, err := k.encode(day, v)
	if err == nil {
		err = checkEntity(k.name, id, body)
	}
	if err != nil {
		*k.updated(v) = prevUpdated
		return err
	}
	etag := azcore.ETag(*k.etag(v))
	resp, err := k.client(s).UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
	switch {
	case err == nil:
		*k.etag(v) = string(resp.ETag)
		return nil
	case isPrecondition(err):
		*k.updated(v) = prevUpdated
		return fmt.Errorf("update %s %s: %w", k.name, id, ErrConcurrentUpdate)
	case isNotFound(err):
		*k.updated(v) = prevUpdated
		return fmt.Errorf("update %s: %w", k.name, arrops.Errorf(arrops.ENOTFOUND, "%s %s not found", k.name, id))
	default:
		*k.updated(v) = prevUpdated
		return fmt.Errorf("update %s %s: %w", k.name, id, classify(err))
	}
}

// dayRange is the PartitionKey filter for the creation days that overlap
// [from, to). ok is false for an empty range.
func dayRange(from, to time.Time) (string, bool) {
	if !to.After(from) {
		return "", false
	}
	return fmt.Sprintf("PartitionKey ge '%s' and PartitionKey le '%s'", dayKey(from), dayKey(to.Add(-time.Nanosecond))), true
}

// scan streams the entities matching filter page by page, decoded.
func scan[T any](ctx context.Context, s *Store, c *aztables.Client, filter string, decode func([]byte, string) (*T, error)) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		pager := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: &s.pageSize})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				yield(nil, fmt.Errorf("query records: %w", classify(err)))
				return
			}
			for _, b := range page.Entities {
				v, err := decode(b, "")
				if !yield(v, err) || err != nil {
					return
				}
			}
		}
	}
}

// collect drains seq into a slice, keeping only the values keep accepts.
func collect[T any](seq iter.Seq2[*T, error], keep func(*T) bool) ([]*T, error) {
	var out []*T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		if keep(v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// activeFilter is the PartitionKey range searched for active records at now.
func activeFilter(now time.Time) string {
	f, _ := dayRange(now.Add(-ActiveWindow), now.Add(24*time.Hour))
	return f
}

func empty[T any]() iter.Seq2[*T, error] { return func(func(*T, error) bool) {} }
