package infracheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/arrops/arrops"
	"github.com/arrops/arrops/config"
	"github.com/arrops/arrops/internal/infracheck/bicep"
)

// Problem is one inconsistency.
type Problem struct {
	Check   string // settings, functions, entities, roles, resources, local-settings, zip
	Subject string // the setting, function, entity or role concerned
	Detail  string
}

func (p Problem) String() string { return p.Check + ": " + p.Subject + ": " + p.Detail }

// Built-in role definition ids the function app's identity needs.
const (
	RoleStorageBlobDataReader        = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	RoleStorageBlobDataContributor   = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	RoleStorageBlobDelegator         = "db58b8e5-c6ad-4a2a-8342-4190687cbf4a"
	RoleStorageQueueDataContributor  = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
	RoleStorageQueueDataMessageSendr = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"
	RoleStorageTableDataContributor  = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
	RoleServiceBusDataReceiver       = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"
	RoleServiceBusDataSender         = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"
	RoleRemoteRenderingAdministrator = "3df8b902-2a6f-47c7-8cc5-360e9b272a7e"
)

// Resource types the checks look for.
const (
	typeStorage      = "Microsoft.Storage/storageAccounts"
	typeContainer    = "Microsoft.Storage/storageAccounts/blobServices/containers"
	typeQueue        = "Microsoft.Storage/storageAccounts/queueServices/queues"
	typeTable        = "Microsoft.Storage/storageAccounts/tableServices/tables"
	typeBusNamespace = "Microsoft.ServiceBus/namespaces"
	typeBusQueue     = "Microsoft.ServiceBus/namespaces/queues"
	typeBusTopic     = "Microsoft.ServiceBus/namespaces/topics"
	typeSite         = "Microsoft.Web/sites"
	typeSiteConfig   = "Microsoft.Web/sites/config"
	typeRole         = "Microsoft.Authorization/roleAssignments"
	typeSubscription = "Microsoft.EventGrid/systemTopics/eventSubscriptions"
	typeARR          = "Microsoft.MixedReality/remoteRenderingAccounts"
)

// hostSettings are app settings the Functions host (not arrops) reads; they
// may appear in Bicep besides config.Settings.
var hostSettings = []string{"APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId", "ServiceBusConnection__credential", "ServiceBusConnection__clientId"}

// ArrctlReplyQueue is the Service Bus queue arrctl asks replies on (its
// ServiceBusReplyQueue; a test keeps the two equal). arrctl is a main
// package, so the name cannot be imported from there.
const ArrctlReplyQueue = "arrctl-replies"

// identitySettings must be set in Azure: they replace the secret connection strings.
var identitySettings = []string{"AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri", "ServiceBusConnection__fullyQualifiedNamespace"}

// Binding is what the Go side expects of a function's trigger binding.
type Binding struct {
	Name, Type string
	Props      map[string]string // further properties that must match exactly
}

// Function is what the Go side expects of one function folder.
type Function struct {
	Trigger Binding
	Outputs []Binding
}

// Functions lists every function the handler serves, with the bindings its
// Go code reads (trigger data under Data.<name>, outputs under Outputs.<name>).
var Functions = map[string]Function{
	"commands": {Trigger: Binding{Name: "cmd", Type: "serviceBusTrigger", Props: map[string]string{"queueName": config.CommandsQueue, "connection": "ServiceBusConnection"}}},
	"convert":  {Trigger: Binding{Name: "msg", Type: "queueTrigger", Props: map[string]string{"queueName": config.BlobCreatedQueue, "connection": "AzureWebJobsStorage"}}},
	"due":      {Trigger: Binding{Name: "msg", Type: "queueTrigger", Props: map[string]string{"queueName": config.DueQueue, "connection": "AzureWebJobsStorage"}}},
	"watch":    {Trigger: Binding{Name: "timer", Type: "timerTrigger", Props: map[string]string{"schedule": "%WATCH_SCHEDULE%"}}},
	"shutdown": {Trigger: Binding{Name: "timer", Type: "timerTrigger", Props: map[string]string{"schedule": "%SHUTDOWN_SCHEDULE%"}}},
	"report": {Trigger: Binding{Name: "req", Type: "httpTrigger", Props: map[string]string{"authLevel": "function"}},
		Outputs: []Binding{{Name: "res", Type: "http"}}},
}

var knownBindingTypes = []string{"serviceBusTrigger", "queueTrigger", "timerTrigger", "httpTrigger", "blobTrigger", "eventGridTrigger",
	"http", "queue", "serviceBus", "blob", "table", "eventGrid"}

// Repo is a checked tree: Root holds infra/, functions/, host.json and
// local.settings.json.example.
type Repo struct {
	Root string

	dep       *bicep.Deployment
	functions map[string]map[string]any // folder -> parsed function.json
	bindings  map[string][]map[string]any
	settings  map[string]bicep.Value // Bicep app settings
	problems  []Problem
}

// Check runs every check on the tree at root. The error is for trees that
// cannot be read at all (a Bicep syntax error, a missing main.bicep).
func Check(root string) ([]Problem, error) {
	r := &Repo{Root: root}
	dep, err := bicep.Load(filepath.Join(root, "infra", "main.bicep"))
	if err != nil {
		return nil, fmt.Errorf("infracheck: %w", err)
	}
	r.dep = dep
	r.checkFunctions()
	r.loadAppSettings()
	r.checkSettings()
	r.checkEntities()
	r.checkResources()
	r.checkRoles()
	r.checkLocalSettings()
	r.checkParameters()
	sort.SliceStable(r.problems, func(i, j int) bool { return r.problems[i].String() < r.problems[j].String() })
	return r.problems, nil
}

func (r *Repo) add(check, subject, format string, args ...any) {
	r.problems = append(r.problems, Problem{check, subject, fmt.Sprintf(format, args...)})
}

func (r *Repo) resources(typ string, declared bool) []*bicep.Resource {
	var out []*bicep.Resource
	for _, res := range r.dep.Resources {
		if res.Type == typ && (!declared || !res.Existing) {
			out = append(out, res)
		}
	}
	return out
}

func (r *Repo) declared(typ, name string) *bicep.Resource {
	for _, res := range r.resources(typ, true) {
		if n := res.Name(); n.Kind == bicep.String && n.Str == name {
			return res
		}
	}
	return nil
}

var placeholderRe = regexp.MustCompile(`%([^%\s]+)%`)

// checkFunctions validates every functions/<name>/function.json against Functions.
func (r *Repo) checkFunctions() {
	r.functions = map[string]map[string]any{}
	r.bindings = map[string][]map[string]any{}
	dirs, err := os.ReadDir(filepath.Join(r.Root, "functions"))
	if err != nil {
		r.add("functions", "functions/", "cannot list: %v", err)
		return
	}
	seen := map[string]bool{}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		name := d.Name()
		b, err := os.ReadFile(filepath.Join(r.Root, "functions", name, "function.json"))
		if os.IsNotExist(err) {
			if _, ok := Functions[name]; ok {
				r.add("functions", name, "function.json is missing")
			}
			continue // a Go helper package, not a function
		}
		seen[name] = true
		var doc struct {
			Bindings []map[string]any `json:"bindings"`
		}
		if err != nil || json.Unmarshal(b, &doc) != nil {
			r.add("functions", name, "function.json is not valid JSON")
			continue
		}
		r.bindings[name] = doc.Bindings
		want, ok := Functions[name]
		if !ok {
			r.add("functions", name, "no expected bindings: add the function to infracheck.Functions and the handler's routes")
		}
		var triggers []map[string]any
		for _, bd := range doc.Bindings {
			typ, _ := bd["type"].(string)
			bname, _ := bd["name"].(string)
			if !slices.Contains(knownBindingTypes, typ) {
				r.add("functions", name, "binding %q has unknown type %q", bname, typ)
			}
			if strings.HasSuffix(typ, "Trigger") {
				triggers = append(triggers, bd)
				if bd["direction"] != "in" {
					r.add("functions", name, "trigger %q must have direction in", bname)
				}
			}
		}
		if len(triggers) != 1 {
			r.add("functions", name, "has %d triggers, want exactly 1", len(triggers))
		}
		if !ok || len(triggers) != 1 {
			continue
		}
		r.matchBinding(name, triggers[0], want.Trigger)
		for _, o := range want.Outputs {
			found := false
			for _, bd := range doc.Bindings {
				if bd["name"] == o.Name {
					found = true
					r.matchBinding(name, bd, o)
					if bd["direction"] != "out" {
						r.add("functions", name, "binding %q must have direction out", o.Name)
					}
				}
			}
			if !found {
				r.add("functions", name, "output binding %q (%s) is missing", o.Name, o.Type)
			}
		}
		if want.Trigger.Type == "httpTrigger" {
			methods, _ := triggers[0]["methods"].([]any)
			if len(methods) != 1 || !strings.EqualFold(fmt.Sprint(methods[0]), "get") {
				r.add("functions", name, "http trigger must accept GET only, has methods %v", methods)
			}
		}
	}
	for name := range Functions {
		if !seen[name] {
			if _, err := os.Stat(filepath.Join(r.Root, "functions", name)); err != nil {
				r.add("functions", name, "folder functions/%s is missing", name)
			}
		}
	}
}

func (r *Repo) matchBinding(fn string, got map[string]any, want Binding) {
	if got["name"] != want.Name {
		r.add("functions", fn, "binding of type %s is named %v, the handler reads %q", want.Type, got["name"], want.Name)
	}
	if got["type"] != want.Type {
		r.add("functions", fn, "binding %q has type %v, want %s", want.Name, got["type"], want.Type)
	}
	keys := make([]string, 0, len(want.Props))
	for k := range want.Props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, _ := got[k].(string); v != want.Props[k] {
			r.add("functions", fn, "binding %q: %s is %q, want %q", want.Name, k, v, want.Props[k])
		}
	}
}

// loadAppSettings finds the function app's appsettings in Bicep.
func (r *Repo) loadAppSettings() {
	r.settings = map[string]bicep.Value{}
	var found bool
	for _, res := range r.resources(typeSiteConfig, true) {
		if n := res.Name(); n.Kind == bicep.String && n.Str == "appsettings" {
			props := res.Prop("properties")
			if props.Kind != bicep.Object {
				r.add("settings", "appsettings", "properties cannot be evaluated: %s", props)
				continue
			}
			found = true
			for _, k := range props.Keys {
				r.settings[k] = props.Props[k]
			}
		}
	}
	// siteConfig.appSettings arrays of {name, value} count as well.
	for _, res := range r.resources(typeSite, true) {
		arr := res.Prop("properties.siteConfig.appSettings")
		for _, it := range arr.Items {
			if n := it.Get("name"); n.Kind == bicep.String {
				found = true
				r.settings[n.Str] = it.Get("value")
			}
		}
	}
	if !found {
		r.add("settings", "appsettings", "no app settings found (a Microsoft.Web/sites/config named appsettings)")
	}
}

// unsetByDesign reads "infracheck: unset NAME: reason" comments of the Bicep files.
func (r *Repo) unsetByDesign() map[string]string {
	out := map[string]string{}
	for _, f := range r.dep.Files {
		for _, c := range f.Comments {
			rest, ok := strings.CutPrefix(c, "infracheck: unset ")
			if !ok {
				continue
			}
			name, reason, _ := strings.Cut(rest, ":")
			out[strings.TrimSpace(name)] = strings.TrimSpace(reason)
		}
	}
	return out
}

func (r *Repo) checkSettings() {
	unset := r.unsetByDesign()
	mustSet := map[string]string{}
	for _, fn := range sortedKeys(r.bindings) {
		for _, bd := range r.bindings[fn] {
			for _, v := range bd {
				s, _ := v.(string)
				for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
					mustSet[m[1]] = "functions/" + fn + "/function.json binds %" + m[1] + "%"
				}
			}
		}
	}
	for _, n := range identitySettings {
		mustSet[n] = "identity-based connection (no connection string in Azure)"
	}
	known := map[string]bool{}
	for _, s := range config.Settings {
		known[s.Name] = true
		_, set := r.settings[s.Name]
		why, must := mustSet[s.Name]
		switch {
		case s.Secret && set:
			r.add("settings", s.Name, "is a secret: use the managed identity instead of setting it in Bicep")
		case must && !set:
			r.add("settings", s.Name, "must be set in the app settings: %s", why)
		case s.Required && s.Default == "" && !s.Secret && !set:
			r.add("settings", s.Name, "is required and has no default, but is not set in the app settings")
		case !set && !s.Secret && s.Default == "" && unset[s.Name] == "" && !must:
			r.add("settings", s.Name, `is neither set in the app settings nor documented as unset ("// infracheck: unset %s: <reason>")`, s.Name)
		}
		if set && unset[s.Name] != "" {
			r.add("settings", s.Name, "is set in the app settings but documented as unset")
		}
	}
	for name := range mustSet {
		if !known[name] {
			if _, set := r.settings[name]; !set {
				r.add("settings", name, "must be set in the app settings: %s", mustSet[name])
			}
		}
	}
	for _, k := range sortedKeys(r.settings) {
		if !known[k] && !slices.Contains(hostSettings, k) && mustSet[k] == "" {
			r.add("settings", k, "is set in Bicep but is not in config.Settings (typo?)")
		}
	}
	for _, k := range []string{"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"} {
		if _, ok := r.settings[k]; ok {
			r.add("settings", k, "is rejected on Flex Consumption: set functionAppConfig.runtime instead")
		}
	}
	for name, v := range unset {
		if !known[name] {
			r.add("settings", name, "documented as unset (%s) but not in config.Settings", v)
		}
	}
}

// settingValue returns the evaluated app setting, or the config default.
func (r *Repo) settingValue(name string) (string, bool) {
	if v, ok := r.settings[name]; ok {
		if v.Kind == bicep.String {
			return v.Str, true
		}
		return "", false
	}
	for _, s := range config.Settings {
		if s.Name == name {
			return s.Default, true
		}
	}
	return "", false
}

func (r *Repo) checkEntities() {
	busQueues := map[string]string{config.CommandsQueue: "config.CommandsQueue", ArrctlReplyQueue: "cmd/arrctl (ServiceBusReplyQueue)"}
	storageQueues := map[string]string{config.BlobCreatedQueue: "config.BlobCreatedQueue", config.DueQueue: "config.DueQueue"}
	for _, fn := range sortedKeys(r.bindings) {
		for _, bd := range r.bindings[fn] {
			q, _ := bd["queueName"].(string)
			switch bd["type"] {
			case "serviceBusTrigger", "serviceBus":
				if q != "" {
					busQueues[q] = "functions/" + fn
				}
				if t, _ := bd["topicName"].(string); t != "" && r.declared(typeBusTopic, t) == nil {
					r.add("entities", t, "Service Bus topic used by functions/%s is not declared in Bicep", fn)
				}
			case "queueTrigger", "queue":
				if q != "" {
					storageQueues[q] = "functions/" + fn
				}
			}
		}
	}
	for _, q := range sortedKeys(busQueues) {
		if r.declared(typeBusQueue, q) == nil {
			r.add("entities", q, "Service Bus queue used by %s is not declared in Bicep", busQueues[q])
		}
	}
	for _, q := range sortedKeys(storageQueues) {
		if r.declared(typeQueue, q) == nil {
			r.add("entities", q, "storage queue used by %s is not declared in Bicep", storageQueues[q])
		}
		if strings.HasPrefix(storageQueues[q], "functions/") && r.declared(typeQueue, q+"-poison") == nil {
			r.add("entities", q+"-poison", "poison queue of the %s trigger is not declared in Bicep", q)
		}
	}
	topic := r.declared(typeBusTopic, config.EventsTopic)
	if topic == nil {
		r.add("entities", config.EventsTopic, "Service Bus topic config.EventsTopic is not declared in Bicep")
	} else if v := topic.Prop("properties.requiresDuplicateDetection"); v.Str != "true" {
		r.add("entities", config.EventsTopic, "requiresDuplicateDetection must be true (deterministic MessageIds dedupe events)")
	}
	for _, t := range []string{config.SessionsTable, config.ConversionsTable, config.CommandsTable} {
		if r.declared(typeTable, t) == nil {
			r.add("entities", t, "table is not declared in Bicep")
		}
	}
	for _, s := range []string{"ARR_INPUT_CONTAINER", "ARR_OUTPUT_CONTAINER"} {
		name, ok := r.settingValue(s)
		if !ok {
			r.add("entities", s, "container name cannot be evaluated from Bicep")
			continue
		}
		if r.declared(typeContainer, name) == nil {
			r.add("entities", name, "container named by %s is not declared in Bicep", s)
		}
	}
}

func (r *Repo) checkResources() {
	for _, st := range r.resources(typeStorage, true) {
		if v := st.Prop("properties.allowSharedKeyAccess"); v.Str != "false" {
			r.add("resources", "storage account "+st.Symbol, "allowSharedKeyAccess must be false")
		}
		if v := st.Prop("properties.minimumTlsVersion"); v.Str != "TLS1_2" {
			r.add("resources", "storage account "+st.Symbol, "minimumTlsVersion must be TLS1_2")
		}
	}
	if len(r.resources(typeStorage, true)) == 0 {
		r.add("resources", typeStorage, "no storage account declared")
	}
	for _, ns := range r.resources(typeBusNamespace, true) {
		if v := ns.Prop("properties.disableLocalAuth"); v.Str != "true" {
			r.add("resources", "Service Bus namespace "+ns.Symbol, "disableLocalAuth must be true")
		}
	}
	sites := r.resources(typeSite, true)
	if len(sites) != 1 {
		r.add("resources", typeSite, "want exactly one function app, found %d", len(sites))
	}
	for _, s := range sites {
		if v := s.Prop("identity.type"); v.Str != "SystemAssigned" {
			r.add("resources", "function app", "identity.type must be SystemAssigned, is %s", v)
		}
		if v := s.Prop("kind"); v.Str != "functionapp,linux" {
			r.add("resources", "function app", "kind must be functionapp,linux, is %s", v)
		}
		if v := s.Prop("properties.functionAppConfig.runtime.name"); v.Str != "custom" {
			r.add("resources", "function app", "functionAppConfig.runtime.name must be custom (Go custom handler), is %s", v)
		}
		if v := s.Prop("properties.functionAppConfig.deployment.storage.authentication.type"); v.Str != "SystemAssignedIdentity" {
			r.add("resources", "function app", "deployment storage must authenticate with SystemAssignedIdentity, is %s", v)
		}
	}
	flex := false
	for _, p := range r.resources("Microsoft.Web/serverfarms", true) {
		if p.Prop("sku.tier").Str == "FlexConsumption" {
			flex = true
		}
	}
	if !flex {
		r.add("resources", "Microsoft.Web/serverfarms", "no Flex Consumption (FlexConsumption/FC1) plan declared")
	}
	r.checkEventGrid()
}

func (r *Repo) checkEventGrid() {
	subs := r.resources(typeSubscription, true)
	if len(subs) == 0 {
		r.add("resources", "event grid", "no system topic event subscription delivers BlobCreated to %s", config.BlobCreatedQueue)
		return
	}
	input, _ := r.settingValue("ARR_INPUT_CONTAINER")
	prefix, _ := r.settingValue("ARR_INPUT_PREFIX")
	for _, s := range subs {
		subject := "event subscription " + s.Symbol
		dest := s.Prop("properties.deliveryWithResourceIdentity.destination")
		if dest.Kind != bicep.Object {
			dest = s.Prop("properties.destination")
		}
		if dest.Get("endpointType").Str != "StorageQueue" || dest.Path("properties", "queueName").Str != config.BlobCreatedQueue {
			r.add("resources", subject, "must deliver to the storage queue %s", config.BlobCreatedQueue)
		}
		filter := s.Prop("properties.filter")
		if types := filter.Get("includedEventTypes").Strings(); !slices.Equal(types, []string{"Microsoft.Storage.BlobCreated"}) {
			r.add("resources", subject, "includedEventTypes must be [Microsoft.Storage.BlobCreated], is %v", types)
		}
		want := "/blobServices/default/containers/" + input + "/blobs/" + prefix
		if got := filter.Get("subjectBeginsWith"); got.Str != want {
			r.add("resources", subject, "subjectBeginsWith must be %q, is %s", want, got)
		}
		var ends []string
		for _, af := range filter.Get("advancedFilters").Items {
			if af.Get("operatorType").Str == "StringEndsWith" && af.Get("key").Str == "subject" {
				ends = append(ends, af.Get("values").Strings()...)
			}
		}
		sort.Strings(ends)
		formats := slices.Clone(arrops.InputFormats)
		sort.Strings(formats)
		if !slices.Equal(ends, formats) {
			r.add("resources", subject, "StringEndsWith subject filter must be exactly arrops.InputFormats %v, is %v", formats, ends)
		}
	}
}

// Role is a role assignment the deployment must make.
type Role struct {
	ID, Name  string
	ScopeType string // resource type of the scope
	ScopeName string // "" when the name is not fixed; "$ARR_INPUT_CONTAINER" names a setting
	Optional  bool   // must be conditional (e.g. the existing ARR account)
	Why       string
}

// Roles lists the role assignments of the function app's identity (and of
// the Event Grid system topic) that the deployment must make.
var Roles = []Role{
	{RoleStorageBlobDataReader, "Storage Blob Data Reader", typeContainer, "$ARR_INPUT_CONTAINER", false, "read uploads (user-delegation SAS)"},
	{RoleStorageBlobDataContributor, "Storage Blob Data Contributor", typeContainer, "$ARR_OUTPUT_CONTAINER", false, "ARR writes assets through a user-delegation SAS"},
	{RoleStorageBlobDataContributor, "Storage Blob Data Contributor", typeContainer, "azure-webjobs-hosts", false, "host timer status and locks"},
	{RoleStorageBlobDataContributor, "Storage Blob Data Contributor", typeContainer, "azure-webjobs-secrets", false, "host function keys"},
	{RoleStorageBlobDelegator, "Storage Blob Delegator", typeStorage, "", false, "user-delegation key"},
	{RoleStorageQueueDataContributor, "Storage Queue Data Contributor", typeStorage, "", false, "queue trigger and poison queue"},
	{RoleStorageQueueDataMessageSendr, "Storage Queue Data Message Sender", typeStorage, "", false, "Event Grid delivery with the system topic's identity"},
	{RoleStorageTableDataContributor, "Storage Table Data Contributor", typeStorage, "", false, "records"},
	{RoleServiceBusDataReceiver, "Azure Service Bus Data Receiver", typeBusQueue, config.CommandsQueue, false, "commands trigger"},
	{RoleServiceBusDataSender, "Azure Service Bus Data Sender", typeBusNamespace, "", false, "events topic and replies"},
	{RoleRemoteRenderingAdministrator, "Remote Rendering Administrator", typeARR, "", true, "sessions and conversions"},
}

var guidRe = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// roleID evaluates the role definition id of an assignment: a literal, a var,
// or the second argument of subscriptionResourceId.
func roleID(res *bicep.Resource) string {
	n := res.Body.Get("properties").Get("roleDefinitionId")
	if n == nil {
		return ""
	}
	if v := res.Scope.Eval(n); v.Kind == bicep.String {
		return strings.ToLower(guidRe.FindString(v.Str))
	}
	if n.Kind == bicep.KCall {
		for _, a := range n.Items {
			if v := res.Scope.Eval(a); v.Kind == bicep.String && guidRe.MatchString(v.Str) {
				return strings.ToLower(guidRe.FindString(v.Str))
			}
		}
	}
	return ""
}

func (r *Repo) checkRoles() {
	assignments := r.resources(typeRole, true)
	for _, want := range Roles {
		scopeName := want.ScopeName
		if s, ok := strings.CutPrefix(scopeName, "$"); ok {
			scopeName, _ = r.settingValue(s)
		}
		found := false
		for _, a := range assignments {
			if roleID(a) != want.ID {
				continue
			}
			scope := a.Ref("scope", r.dep.Resources)
			if scope == nil || scope.Type != want.ScopeType {
				continue
			}
			if scopeName != "" {
				if n := scope.Name(); n.Kind != bicep.String || n.Str != scopeName {
					continue
				}
			}
			if want.Optional && !a.Conditional {
				r.add("roles", want.Name, "assignment %s must be conditional (the account is optional)", a.Symbol)
			}
			found = true
		}
		if !found {
			where := want.ScopeType
			if scopeName != "" {
				where += " " + scopeName
			}
			r.add("roles", want.Name, "no assignment of %s on %s (%s)", want.ID, where, want.Why)
		}
	}
}

// checkLocalSettings checks local.settings.json.example: exactly the names of
// config.Settings plus FUNCTIONS_WORKER_RUNTIME, values config.Load accepts,
// and no secret but Azurite's.
func (r *Repo) checkLocalSettings() {
	const file = "local.settings.json.example"
	b, err := os.ReadFile(filepath.Join(r.Root, file))
	if err != nil {
		r.add("local-settings", file, "cannot read: %v", err)
		return
	}
	var doc struct {
		IsEncrypted *bool             `json:"IsEncrypted"`
		Values      map[string]string `json:"Values"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		r.add("local-settings", file, "not valid JSON of string values: %v", err)
		return
	}
	if doc.IsEncrypted == nil || *doc.IsEncrypted {
		r.add("local-settings", "IsEncrypted", "must be false")
	}
	if doc.Values["FUNCTIONS_WORKER_RUNTIME"] != "custom" {
		r.add("local-settings", "FUNCTIONS_WORKER_RUNTIME", "must be custom")
	}
	names := map[string]bool{"FUNCTIONS_WORKER_RUNTIME": true}
	for _, s := range config.Settings {
		names[s.Name] = true
		if _, ok := doc.Values[s.Name]; !ok {
			r.add("local-settings", s.Name, "is missing (list every config.Settings name)")
		}
	}
	for _, k := range sortedKeys(doc.Values) {
		if !names[k] {
			r.add("local-settings", k, "is not in config.Settings")
		}
	}
	for _, s := range config.Settings {
		v := doc.Values[s.Name]
		if !s.Secret || v == "" {
			continue
		}
		if s.Name == "AzureWebJobsStorage" && (v == "UseDevelopmentStorage=true" || strings.Contains(v, "AccountName=devstoreaccount1;") && strings.Contains(v, azuriteKey)) {
			continue
		}
		r.add("local-settings", s.Name, "holds a secret; only Azurite's well-known development storage may appear")
	}
	if _, err := config.Load(func(k string) string { return doc.Values[k] }); err != nil {
		r.add("local-settings", file, "config.Load rejects it: %v", err)
	}
}

// checkParameters checks infra/main.parameters.json (azd's parameter file)
// against the params of main.bicep: every entry names a param, and every
// param without a default gets a value.
func (r *Repo) checkParameters() {
	const file = "infra/main.parameters.json"
	b, err := os.ReadFile(filepath.Join(r.Root, filepath.FromSlash(file)))
	if err != nil {
		r.add("parameters", file, "cannot read: %v", err)
		return
	}
	var doc struct {
		Parameters map[string]json.RawMessage `json:"parameters"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		r.add("parameters", file, "not valid JSON: %v", err)
		return
	}
	for _, k := range sortedKeys(doc.Parameters) {
		if d := r.dep.Main.Lookup(k); d == nil || d.Keyword != "param" {
			r.add("parameters", k, "is in %s but main.bicep has no such param", file)
		}
	}
	for _, d := range r.dep.Main.Decls {
		if _, ok := doc.Parameters[d.Name]; d.Keyword == "param" && d.Value == nil && !ok {
			r.add("parameters", d.Name, "has no default and no value in %s", file)
		}
	}
}

// azuriteKey is the public, documented development key of Azurite.
const azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
