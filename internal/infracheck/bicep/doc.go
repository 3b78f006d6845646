// Package bicep reads the subset of the Bicep language that arrops' infra/
// uses, well enough for consistency tests: declarations (param, var,
// resource, module, output), object and array literals, strings with
// interpolation, calls, member access, conditions and loops. It evaluates
// what can be known without Azure (literals, params with defaults or values
// passed by the calling file, vars, union(), string(), interpolation) and
// flattens a main file and its local modules into one list of resources.
//
// There is no Bicep compiler in CI (the CLI downloads itself from GitHub), so
// this reader is what checks the templates. It is not a validator: it rejects
// syntax it does not understand rather than guessing.
package bicep
