package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/arrops/arrops"
)

// smallEntity is the encoded size under which no limit can be reached, so
// the check costs nothing for ordinary records: a string's UTF-16 size is at
// most twice its UTF-8 size, which is at most its length in the JSON, so no
// property exceeds 64 KiB and the whole entity stays far below 1 MiB; keys
// are valid by construction (ids pass arrops.ValidateID, partitions are days
// or "id", audit row keys are escaped and bounded by AuditRowKey) and the
// entity types have a few dozen properties, not 252.
const smallEntity = arrops.TableMaxStringBytes / 2

// checkEntity holds an encoded entity to Table Storage's limits before it is
// sent (arrops.Limits): a string property over 64 KiB, an entity over 1 MiB
// or more than 252 properties is EINVALID, naming the property, instead of a
// 400 from the service after other side effects happened.
//
// The size follows the service's published formula: 4 bytes, the keys in
// UTF-16, and per property 8 bytes, its name in UTF-16 and its value (strings
// 4 + UTF-16, other types 8).
func checkEntity(kind, id string, body []byte) error {
	if len(body) <= smallEntity {
		return nil
	}
	var props map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&props); err != nil {
		return fmt.Errorf("%s %s: check entity: %w", kind, id, err)
	}
	size, custom := 4, 0
	for name, v := range props {
		if strings.Contains(name, "@odata.") || name == "odata.etag" {
			continue // type annotations and the ETag are not properties
		}
		s, isString := v.(string)
		switch name {
		case "PartitionKey", "RowKey":
			if err := arrops.ValidateTableKey(name, s); err != nil {
				return fmt.Errorf("%s %s: %w", kind, id, err)
			}
			size += arrops.UTF16Bytes(s)
			continue
		}
		custom++
		size += 8 + arrops.UTF16Bytes(name)
		if !isString {
			size += 8
			continue
		}
		if _, typed := props[name+"@odata.type"]; typed {
			size += 8 // Edm.DateTime, Edm.Int64, ... written as strings
			continue
		}
		n := arrops.UTF16Bytes(s)
		if n > arrops.TableMaxStringBytes {
			return fmt.Errorf("%s %s: %w", kind, id, arrops.Errorf(arrops.EINVALID,
				"property %s is %d bytes (UTF-16), the Table Storage limit is %d", name, n, arrops.TableMaxStringBytes))
		}
		size += 4 + n
	}
	if custom > arrops.TableMaxCustomProperties {
		return fmt.Errorf("%s %s: %w", kind, id, arrops.Errorf(arrops.EINVALID,
			"entity has %d properties, the Table Storage limit is %d", custom, arrops.TableMaxCustomProperties))
	}
	if size > arrops.TableMaxEntityBytes {
		return fmt.Errorf("%s %s: %w", kind, id, arrops.Errorf(arrops.EINVALID,
			"entity is %d bytes, the Table Storage limit is %d", size, arrops.TableMaxEntityBytes))
	}
	return nil
}

// CheckSession holds s, encoded as it would be written, to Table Storage's
// limits. Drivers that are not Table Storage (memstore) call it, so they
// refuse what Table Storage would (the conformance suite checks both).
func CheckSession(s *arrops.Session) error {
	body, err := encodeSession(dayKey(s.CreatedAt), s)
	if err != nil {
		return err
	}
	return checkEntity("session", s.ID, body)
}

// CheckConversion is CheckSession for a conversion record.
func CheckConversion(c *arrops.Conversion) error {
	body, err := encodeConversion(dayKey(c.CreatedAt), c)
	if err != nil {
		return err
	}
	return checkEntity("conversion", c.ID, body)
}

// CheckAudit is CheckSession for an audit row.
func CheckAudit(a *arrops.CommandAudit) error {
	body, err := encodeAudit(dayKey(a.At), AuditRowKey(a.MessageID, a.DeliveryCount, a.InvocationID), a)
	if err != nil {
		return err
	}
	return checkEntity("audit of message", a.MessageID, body)
}
