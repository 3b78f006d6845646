// Package infracheck checks that the deployment (infra/*.bicep), the
// function.json bindings, local.settings.json.example and the Go side
// (config.Settings and its entity-name constants) agree, and that a
// deployment zip has the layout the Functions host expects.
//
// Bicep is read with package bicep (parsing only; no Bicep compiler runs in
// CI). Each problem names the check, the thing concerned and what is wrong,
// so a failing test says exactly what to fix.
package infracheck
