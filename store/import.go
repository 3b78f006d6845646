package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
)

// maxBatch is the most entities a Table Storage transaction may hold.
const maxBatch = 100

// ImportSessions writes many session records at once, with their index rows,
// in entity-group transactions of up to 100 rows per partition: one request
// per 100 records instead of two per record. It upserts, so importing the
// same records again is safe; it is for bulk loads (seeding a report,
// migrating history), not for the functions, which create records one by one
// with conflict detection. Records must carry CreatedAt (their partition).
func (s *Store) ImportSessions(ctx context.Context, recs []*arrops.Session) error {
	return importRecords(ctx, s, sessionKind, recs)
}

// ImportConversions is ImportSessions for conversion records.
func (s *Store) ImportConversions(ctx context.Context, recs []*arrops.Conversion) error {
	return importRecords(ctx, s, conversionKind, recs)
}

func importRecords[T any](ctx context.Context, s *Store, k kind[T], recs []*T) error {
	parts := map[string][]aztables.TransactionAction{}
	add := func(pk string, body []byte) {
		parts[pk] = append(parts[pk], aztables.TransactionAction{ActionType: aztables.TransactionTypeUpdateReplace, Entity: body})
	}
	now := s.now().UTC()
	for _, v := range recs {
		id := k.id(v)
		if err := validID(k.name, id); err != nil {
			return err
		}
		if k.created(v).IsZero() {
			return arrops.Errorf(arrops.EINVALID, "import %s %s: no creation time", k.name, id)
		}
		day := dayKey(*k.created(v))
		if k.updated(v).IsZero() {
			*k.updated(v) = now
		}
		ix, err := json.Marshal(indexEntity{PartitionKey: indexPartition, RowKey: id, Day: day})
		if err != nil {
			return err
		}
		body, err := k.encode(day, v)
		if err != nil {
			return err
		}
		add(indexPartition, ix)
		add(day, body)
	}
	c := k.client(s)
	// Index rows first: a record is only reachable by id once its index row
	// exists, and a failed import is repaired by importing again.
	keys := make([]string, 0, len(parts))
	for pk := range parts {
		keys = append(keys, pk)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if (a == indexPartition) != (b == indexPartition) {
			if a == indexPartition {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, pk := range keys {
		for actions := range slices.Chunk(parts[pk], maxBatch) {
			if _, err := c.SubmitTransaction(ctx, actions, nil); err != nil {
				return fmt.Errorf("import %d %s records into partition %s: %w", len(actions), k.name, pk, classify(err))
			}
		}
	}
	return nil
}
