package infracheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// copyTree copies what Check reads (infra/, functions/*/function.json,
// host.json, local.settings.json.example) from the repository to a temporary root.
func copyTree(t *testing.T) string {
	t.Helper()
	src := repoRoot(t)
	dst := t.TempDir()
	var files []string
	for _, pat := range []string{"infra/*.bicep", "infra/*.json", "infra/modules/*.bicep", "functions/*/function.json", "host.json", "local.settings.json.example"} {
		m, err := filepath.Glob(filepath.Join(src, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(src, f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// edit rewrites one file of root; it fails the test when old is not found,
// so a mutation can never silently stop mutating.
func edit(t *testing.T, root, rel string, re, repl string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	rx := regexp.MustCompile(re)
	if !rx.Match(b) {
		t.Fatalf("mutation %q does not apply to %s", re, rel)
	}
	if err := os.WriteFile(p, rx.ReplaceAll(b, []byte(repl)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// block matches a top-level Bicep declaration of symbol sym through its closing brace.
func block(kind, sym string) string {
	return `(?s)\n(//[^\n]*\n)*` + kind + ` ` + sym + ` '[^']*'[^\n]*\{\n.*?\n\}\n`
}

func TestMutations(t *testing.T) {
	type mut struct{ file, re, repl string }
	tests := []struct {
		name string
		muts []mut
		want []string
	}{
		{"schedule bound by function.json not set",
			[]mut{{"infra/main.bicep", `\n  WATCH_SCHEDULE: watchSchedule`, ""}},
			[]string{"settings: WATCH_SCHEDULE: must be set in the app settings: functions/watch/function.json binds %WATCH_SCHEDULE%"}},
		{"required setting not set",
			[]mut{{"infra/main.bicep", `\n  ARR_ACCOUNT_ID: arrAccountId`, ""}},
			[]string{"settings: ARR_ACCOUNT_ID: is required and has no default, but is not set in the app settings"}},
		{"optional setting neither set nor documented",
			[]mut{{"infra/main.bicep", `\n  SHUTDOWN_QUIET_HOURS: shutdownQuietHours`, ""}},
			[]string{`settings: SHUTDOWN_QUIET_HOURS: is neither set in the app settings nor documented as unset ("// infracheck: unset SHUTDOWN_QUIET_HOURS: <reason>")`}},
		{"documentation of an unset setting removed",
			[]mut{{"infra/main.bicep", `// infracheck: unset ARR_STS_ENDPOINT`, "// ARR_STS_ENDPOINT"}},
			[]string{`settings: ARR_STS_ENDPOINT: is neither set in the app settings nor documented as unset ("// infracheck: unset ARR_STS_ENDPOINT: <reason>")`}},
		{"identity connection setting removed",
			[]mut{{"infra/modules/functionapp.bicep", `\n  ServiceBusConnection__fullyQualifiedNamespace: serviceBusNamespace`, ""}},
			[]string{"settings: ServiceBusConnection__fullyQualifiedNamespace: must be set in the app settings: identity-based connection (no connection string in Azure)"}},
		{"secret set in Bicep",
			[]mut{{"infra/main.bicep", `\n  ARR_ACCOUNT_DOMAIN: arrAccountDomain`, "\n  ARR_ACCOUNT_DOMAIN: arrAccountDomain\n  ARR_ACCOUNT_KEY: 'k'"}},
			[]string{"settings: ARR_ACCOUNT_KEY: is a secret: use the managed identity instead of setting it in Bicep"}},
		{"misspelt setting",
			[]mut{{"infra/main.bicep", `SHUTDOWN_DRY_RUN: string`, "SHUTDOWN_DRYRUN: string"}},
			// SHUTDOWN_DRY_RUN has a default, so only the unknown name is reported.
			[]string{"settings: SHUTDOWN_DRYRUN: is set in Bicep but is not in config.Settings (typo?)"}},
		{"worker runtime app setting on Flex",
			[]mut{{"infra/modules/functionapp.bicep", `APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'`, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'\n  FUNCTIONS_WORKER_RUNTIME: 'custom'"}},
			[]string{"settings: FUNCTIONS_WORKER_RUNTIME: is rejected on Flex Consumption: set functionAppConfig.runtime instead",
				"settings: FUNCTIONS_WORKER_RUNTIME: is set in Bicep but is not in config.Settings (typo?)"}},
		{"poison queue removed",
			[]mut{{"infra/modules/storage.bicep", block("resource", "blobCreatedPoisonQueue"), "\n"}},
			[]string{"entities: arr-blob-created-poison: poison queue of the arr-blob-created trigger is not declared in Bicep"}},
		{"due queue removed",
			[]mut{{"infra/modules/storage.bicep", block("resource", "dueQueue"), "\n"}},
			[]string{"entities: arr-due: storage queue used by functions/due is not declared in Bicep"}},
		{"due poison queue removed",
			[]mut{{"infra/modules/storage.bicep", block("resource", "duePoisonQueue"), "\n"}},
			[]string{"entities: arr-due-poison: poison queue of the arr-due trigger is not declared in Bicep"}},
		{"commands queue removed",
			[]mut{{"infra/modules/servicebus.bicep", block("resource", "commandsQueue"), "\n"}},
			[]string{"entities: arr-commands: Service Bus queue used by functions/commands is not declared in Bicep"}},
		{"arrctl reply queue removed",
			[]mut{{"infra/modules/servicebus.bicep", block("resource", "arrctlRepliesQueue"), "\n"}},
			[]string{"entities: arrctl-replies: Service Bus queue used by cmd/arrctl (ServiceBusReplyQueue) is not declared in Bicep"}},
		{"table removed",
			[]mut{{"infra/modules/storage.bicep", block("resource", "commandsTable"), "\n"}},
			[]string{"entities: ArrCommands: table is not declared in Bicep"}},
		{"output container removed",
			[]mut{{"infra/modules/storage.bicep", block("resource", "outputContainer"), "\n"}},
			[]string{"entities: arr-output: container named by ARR_OUTPUT_CONTAINER is not declared in Bicep"}},
		{"events topic without duplicate detection",
			[]mut{{"infra/modules/servicebus.bicep", `(?s)(name: 'arr-events'.*?)requiresDuplicateDetection: true`, "${1}requiresDuplicateDetection: false"}},
			[]string{"entities: arr-events: requiresDuplicateDetection must be true (deterministic MessageIds dedupe events)"}},
		{"shared keys allowed",
			[]mut{{"infra/modules/storage.bicep", `allowSharedKeyAccess: false`, "allowSharedKeyAccess: true"}},
			[]string{"resources: storage account account: allowSharedKeyAccess must be false"}},
		{"service bus local auth",
			[]mut{{"infra/modules/servicebus.bicep", `disableLocalAuth: true`, "disableLocalAuth: false"}},
			[]string{"resources: Service Bus namespace namespace: disableLocalAuth must be true"}},
		{"runtime not custom",
			[]mut{{"infra/modules/functionapp.bicep", `name: 'custom'`, "name: 'node'"}},
			[]string{"resources: function app: functionAppConfig.runtime.name must be custom (Go custom handler), is node"}},
		{"event grid filter loses a format",
			[]mut{{"infra/modules/eventgrid.bicep", `\n +'\.laz'`, ""}},
			[]string{"resources: event subscription blobCreated: StringEndsWith subject filter must be exactly arrops.InputFormats [.e57 .fbx .glb .gltf .las .laz .ply .xyz], is [.e57 .fbx .glb .gltf .las .ply .xyz]"}},
		{"event grid delivers to another queue",
			[]mut{{"infra/modules/eventgrid.bicep", `queueName: 'arr-blob-created'`, "queueName: 'uploads'"}},
			[]string{"resources: event subscription blobCreated: must deliver to the storage queue arr-blob-created"}},
		{"table role removed",
			[]mut{{"infra/modules/roles.bicep", block("resource", "tableContributor"), "\n"}},
			[]string{"roles: Storage Table Data Contributor: no assignment of 0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3 on Microsoft.Storage/storageAccounts (records)"}},
		{"input reader on the wrong container",
			[]mut{{"infra/modules/roles.bicep", `scope: inputContainer`, "scope: outputContainer"}},
			[]string{"roles: Storage Blob Data Reader: no assignment of 2a2b9908-6ea1-4ae2-8e65-a410df84e7d1 on Microsoft.Storage/storageAccounts/blobServices/containers arr-input (read uploads (user-delegation SAS))"}},
		{"wrong role id",
			[]mut{{"infra/modules/roles.bicep", `4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0`, "090c5cfd-751d-490a-894a-3ce6f1109419"}},
			[]string{"roles: Azure Service Bus Data Receiver: no assignment of 4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0 on Microsoft.ServiceBus/namespaces/queues arr-commands (commands trigger)"}},
		{"ARR role made unconditional",
			[]mut{{"infra/main.bicep", `'modules/arr-role.bicep' = if \(!empty\(arrAccountName\)\) \{`, "'modules/arr-role.bicep' = {"}},
			[]string{"roles: Remote Rendering Administrator: assignment arrAdministrator must be conditional (the account is optional)"}},
		{"trigger binding renamed",
			[]mut{{"functions/commands/function.json", `"name": "cmd"`, `"name": "command"`}},
			[]string{`functions: commands: binding of type serviceBusTrigger is named command, the handler reads "cmd"`}},
		{"second trigger",
			[]mut{{"functions/report/function.json", `"type": "http",`, `"type": "timerTrigger", "schedule": "0 * * * * *",`}},
			[]string{"functions: report: has 2 triggers, want exactly 1", `functions: report: trigger "res" must have direction in`}},
		{"unknown binding type",
			[]mut{{"functions/report/function.json", `"type": "http",`, `"type": "htpp",`}},
			[]string{`functions: report: binding "res" has unknown type "htpp"`, `functions: report: binding "res" has type htpp, want http`}},
		{"timer bound to an unset placeholder",
			[]mut{{"functions/watch/function.json", `%WATCH_SCHEDULE%`, "%WATCH_CRON%"}},
			[]string{`functions: watch: binding "timer": schedule is "%WATCH_CRON%", want "%WATCH_SCHEDULE%"`,
				"settings: WATCH_CRON: must be set in the app settings: functions/watch/function.json binds %WATCH_CRON%"}},
		{"parameter file names a removed param",
			[]mut{{"infra/main.bicep", `\nparam shutdownQuietHours string = ''`, "\nvar shutdownQuietHours = ''"}},
			[]string{"parameters: shutdownQuietHours: is in infra/main.parameters.json but main.bicep has no such param"}},
		{"required param without a value",
			[]mut{{"infra/main.parameters.json", `\n *"arrAccountDomain": \{[^\n]*`, ""}},
			[]string{"parameters: arrAccountDomain: has no default and no value in infra/main.parameters.json"}},
		{"local settings miss a name",
			[]mut{{"local.settings.json.example", `\n    "ARR_CURRENCY": "USD",`, ""}},
			[]string{"local-settings: ARR_CURRENCY: is missing (list every config.Settings name)"}},
		{"local settings hold a secret",
			[]mut{{"local.settings.json.example", `"ServiceBusConnection": ""`, `"ServiceBusConnection": "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s"`}},
			[]string{"local-settings: ServiceBusConnection: holds a secret; only Azurite's well-known development storage may appear"}},
		{"local settings rejected by config.Load",
			[]mut{{"local.settings.json.example", `"ARR_DEFAULT_SIZE": "Standard"`, `"ARR_DEFAULT_SIZE": "Huge"`}},
			nil}, // filled below: the message is config's
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := copyTree(t)
			for _, m := range tc.muts {
				edit(t, root, m.file, m.re, m.repl)
			}
			problems, err := Check(root)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			want := slices.Clone(tc.want)
			if want == nil {
				if len(got) != 1 || !strings.HasPrefix(got[0], "local-settings: local.settings.json.example: config.Load rejects it: setting ARR_DEFAULT_SIZE") {
					t.Fatalf("got %q", got)
				}
				return
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("problems:\n got  %q\n want %q", got, want)
			}
		})
	}
}
