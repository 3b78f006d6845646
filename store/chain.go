package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/arrops/arrops"
)

// The follow-up chain's claim record lives in the sessions table under its
// own partition: day-range queries (PartitionKey between two yyyymmdd days)
// never read it, and it needs no table of its own.
const (
	duePartition = "due"
	chainRowKey  = "followup-chain"
)

type chainEntity struct {
	PartitionKey  string    `json:"PartitionKey"`
	RowKey        string    `json:"RowKey"`
	Gen           int64     `json:"Gen,string"`
	GenType       string    `json:"Gen@odata.type"`
	DueAt         time.Time `json:"DueAt,omitzero"`
	DueAtType     string    `json:"DueAt@odata.type,omitempty"`
	Nudges        int64     `json:"Nudges,string"`
	NudgesType    string    `json:"Nudges@odata.type"`
	UpdatedAt     time.Time `json:"UpdatedAt,omitzero"`
	UpdatedAtType string    `json:"UpdatedAt@odata.type,omitempty"`
}

// GetFollowUpChain returns the follow-up chain's claim record; before the
// first chain, a zero record (empty ETag: SaveFollowUpChain inserts it).
func (s *Store) GetFollowUpChain(ctx context.Context) (*arrops.FollowUpChain, error) {
	resp, err := s.sessions.GetEntity(ctx, duePartition, chainRowKey, nil)
	if isNotFound(err) {
		return &arrops.FollowUpChain{}, nil
	} else if err != nil {
		return nil, fmt.Errorf("read follow-up chain: %w", err)
	}
	var e chainEntity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return nil, fmt.Errorf("decode follow-up chain: %w", err)
	}
	return &arrops.FollowUpChain{Gen: e.Gen, DueAt: readTime(e.DueAt), Nudges: e.Nudges,
		UpdatedAt: readTime(e.UpdatedAt), ETag: string(resp.ETag)}, nil
}

// SaveFollowUpChain writes c if the record is still as read (c.ETag; an
// empty ETag inserts the first one). Otherwise it returns
// ErrConcurrentUpdate: someone else moved the chain; re-read and decide again.
func (s *Store) SaveFollowUpChain(ctx context.Context, c *arrops.FollowUpChain) error {
	e := chainEntity{PartitionKey: duePartition, RowKey: chainRowKey, Gen: c.Gen, GenType: edmInt64,
		Nudges: c.Nudges, NudgesType: edmInt64}
	updated := s.now().UTC()
	e.DueAt, e.DueAtType = storeTime(c.DueAt)
	e.UpdatedAt, e.UpdatedAtType = storeTime(updated)
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	var etag azcore.ETag
	if c.ETag == "" {
		resp, err := s.sessions.AddEntity(ctx, body, nil)
		if isConflict(err) {
			return fmt.Errorf("insert follow-up chain: %w", ErrConcurrentUpdate)
		} else if err != nil {
			return fmt.Errorf("insert follow-up chain: %w", err)
		}
		etag = resp.ETag
	} else {
		match := azcore.ETag(c.ETag)
		resp, err := s.sessions.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &match, UpdateMode: aztables.UpdateModeReplace})
		if isPrecondition(err) || isNotFound(err) {
			return fmt.Errorf("update follow-up chain: %w", ErrConcurrentUpdate)
		} else if err != nil {
			return fmt.Errorf("update follow-up chain: %w", err)
		}
		etag = resp.ETag
	}
	c.ETag, c.UpdatedAt = string(etag), updated
	return nil
}
