package detect

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"

	"quamina.net/go/quamina"

	"github.com/trailwatch/trailwatch/internal/event"
	"github.com/trailwatch/trailwatch/internal/fixture"
)

// compiled holds the patterns patternMatches compiled, by their JSON.
var compiled sync.Map

// patternMatches runs one pattern over an event with quamina, as the
// catalog does (a pattern with "$or" as its plain alternatives).
func patternMatches(t *testing.T, p Pattern, ev *event.Event) bool {
	t.Helper()
	j, err := p.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var q *quamina.Quamina
	if c, ok := compiled.Load(j); ok {
		q = c.(*quamina.Quamina).Copy()
	} else {
		plain, err := MatcherPatterns(j)
		if err != nil {
			t.Fatalf("MatcherPatterns(%s): %v", j, err)
		}
		if q, err = quamina.New(); err != nil {
			t.Fatal(err)
		}
		for _, s := range plain {
			if err := q.AddPattern("p", s); err != nil {
				t.Fatalf("quamina refuses %s: %v", s, err)
			}
		}
		compiled.Store(j, q)
		q = q.Copy()
	}
	b, _ := matchable(ev.JSON)
	m, err := q.MatchesForEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	return len(m) > 0
}

// withRequest returns the fixture with detail fields replaced (dotted
// paths under detail; a nil value removes the field).
func withDetail(t *testing.T, name string, set map[string]any) *event.Event {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(fixture.Read(t, name), &v); err != nil {
		t.Fatal(err)
	}
	detail := v["detail"].(map[string]any)
	for path, val := range set {
		keys := strings.Split(path, ".")
		m := detail
		for _, k := range keys[:len(keys)-1] {
			inner, ok := m[k].(map[string]any)
			if !ok {
				inner = map[string]any{}
				m[k] = inner
			}
			m = inner
		}
		if val == nil {
			delete(m, keys[len(keys)-1])
		} else {
			m[keys[len(keys)-1]] = val
		}
	}
	return eventOf(t, v)
}

// narrowEnvs are deployments the narrowing tests decide under: the one the
// synthesis gives itself (names CloudFormation resolves only at deploy time
// among OwnNames), organization mode, one without prefixes, the fixtures'
// regions, and none.
var narrowEnvs = map[string]Env{
	"stack": {OwnPrefixes: []string{"Trailwatch-", "TrailwatchForwarder-"},
		OwnNames: []string{"${Token[TOKEN.601]}", "${Token[TOKEN.602]}", "trailwatch/slack-webhook"}},
	"organization": {OwnPrefixes: []string{"Trailwatch-", "TrailwatchForwarder-", "TrailwatchMember-"},
		OwnNames: []string{"trailwatch/slack-webhook", "alerts/slack-prod"}, AllowedRegions: []string{"us-east-1", "eu-west-1"}},
	"names only": {OwnNames: []string{"topic-name", "queue-name", "table", "trailwatch/slack-webhook", "Trailwatch-AlarmsDeadLetters20E28703-3H8J1K5L7M2N"}},
	"regions":    {AllowedRegions: []string{"us-east-1", "us-west-2", "eu-west-1", "eu-central-1"}},
	"none":       {},
}

// TestNarrowedPatternsNeverMissTheDecision: for every detection whose
// pattern the settings narrow, every fixture under events/ that its
// pattern matches and its decision reports under some deployment's
// settings is matched by the pattern narrowed to the same settings.
func TestNarrowedPatternsNeverMissTheDecision(t *testing.T) {
	var narrowed []*Detection
	for _, d := range builtin {
		if d.Narrow != nil {
			narrowed = append(narrowed, d)
		}
	}
	names := fixture.All(t)
	for envName, env := range narrowEnvs {
		for _, name := range names {
			ev, err := event.Decode(fixture.Read(t, name))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, d := range narrowed {
				if !patternMatches(t, withoutAlternatives(d.Pattern), ev) {
					continue
				}
				if _, ok := d.Evaluate(ev, &env); ok && !patternMatches(t, d.Narrow(d.Pattern, &env), ev) {
					t.Errorf("%s under %q settings: the decision reports %s but the narrowed pattern does not match it", d.ID, envName, name)
				}
			}
		}
	}
}

// ownNamed are the detections whose patterns are narrowed to trailwatch's
// own names, with the request parameters their calls name the resource in.
var ownNamed = map[string][]string{
	"trailwatch-delivery-tampered": deliveryFields,
	"trailwatch-function-tampered": {functionField},
}

// ownNameVariants are values a caller may give the fields that name a
// resource of trailwatch's (ownNamed) under the settings: their own names
// and prefixes alone, inside the ARNs, URLs and lists of each service, in
// other cases, with spaces and slashes around, and names that are not
// trailwatch's. Names the synthesis has not resolved (unresolvedMarker)
// are left out: CloudFormation resolves them before a function reads its
// settings, and no topic, queue, table, secret or function can be called
// that.
func ownNameVariants(env Env) []string {
	bases := []string{"", " ", "orders", "prod/stripe-api-key", "trailwatch", "Trailwatch", "TRAILWATCH-Topic-1", "alerts*"}
	for _, n := range env.OwnNames {
		if !strings.Contains(n, unresolvedMarker) {
			bases = append(bases, n, n+"-x", "x-"+n)
		}
	}
	for _, p := range env.OwnPrefixes {
		bases = append(bases, p, p+"Topic-1", strings.ToLower(p)+"topic-1", strings.TrimSuffix(p, "-"), "x"+p+"y")
	}
	var out []string
	for _, b := range bases {
		out = append(out, b, " "+b+" ", b+"/", strings.ToUpper(b),
			"arn:aws:sns:eu-west-1:111122223333:"+b,
			"arn:aws:sns:eu-west-1:111122223333:"+b+":4f8e2b1c-9d3a-4e6f-8b7c-2a1d0e9f8c7b",
			"https://sqs.eu-west-1.amazonaws.com/111122223333/"+b,
			"https://sqs.eu-west-1.amazonaws.com/111122223333/"+b+"/",
			"arn:aws:sqs:eu-west-1:111122223333:"+b,
			"arn:aws:dynamodb:eu-west-1:111122223333:table/"+b,
			"arn:aws:secretsmanager:eu-west-1:111122223333:secret:"+b+"-AbCdEf",
			"arn:aws:secretsmanager:eu-west-1:111122223333:secret:"+b,
			"arn:aws:lambda:eu-west-1:111122223333:function:"+b,
			"arn:aws:lambda:eu-west-1:111122223333:function:"+b+":PROD",
			"111122223333:function:"+b, b+":v1")
	}
	return out
}

// ownExamples are a detection's fixtures, positive and negative, each with
// the fields (of fields) it names its resource in.
func ownExamples(t testing.TB, d *Detection, fields []string) map[string][]string {
	out := map[string][]string{}
	names := d.Tests.Negative
	for _, ex := range d.Tests.Positive {
		names = append(names, ex.File)
	}
	for _, name := range names {
		ev, err := event.Decode(fixture.Read(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rp := ev.RequestParams()
		for _, f := range fields {
			if field(rp, strings.TrimPrefix(f, "requestParameters.")) != nil {
				out[name] = append(out[name], f)
			}
		}
		if len(out[name]) == 0 {
			t.Fatalf("%s names its resource in none of %v", name, fields)
		}
	}
	return out
}

// ownVariant is a fixture with the field that names its resource set to
// name (for alarmNames, a list of another alarm and name).
func ownVariant(t *testing.T, file, path, name string) *event.Event {
	var v any = name
	if path == "requestParameters.alarmNames" {
		v = []any{"orders-5xx", name}
	}
	return withDetail(t, file, map[string]any{path: v})
}

// TestOwnNarrowingNeverMissesTheDecision: for each detection narrowed to
// trailwatch's own names and each deployment's settings, each of the
// detection's fixtures with its resource renamed to each of
// ownNameVariants is matched by the narrowed pattern whenever the decision
// reports it; and where the settings name trailwatch's resources the
// narrowing leaves some variants out, so the test does not pass on a
// pattern left broad.
func TestOwnNarrowingNeverMissesTheDecision(t *testing.T) {
	for id, fields := range ownNamed {
		d := detectionByID(t, id)
		examples := ownExamples(t, d, fields)
		for envName, env := range narrowEnvs {
			t.Run(id+"/"+envName, func(t *testing.T) {
				p := d.Narrow(d.Pattern, &env)
				broad := reflectEqualJSON(t, p, d.Pattern)
				reported, left := 0, 0
				for file, paths := range examples {
					for _, path := range paths {
						for _, name := range ownNameVariants(env) {
							ev := ownVariant(t, file, path, name)
							matched := patternMatches(t, p, ev)
							if !matched {
								left++
							}
							if _, ok := d.Evaluate(ev, &env); ok {
								reported++
								if !matched {
									t.Errorf("%s with %s %q: the decision reports it, the narrowed pattern does not match it", file, path, name)
								}
							}
						}
					}
				}
				if reported == 0 {
					t.Error("no variant reported: the property was not exercised")
				}
				if _, narrows := env.ownContains(); narrows && broad {
					t.Errorf("settings that name trailwatch's resources left the pattern broad (%d variants left out)", left)
				}
				t.Logf("%d variants reported, %d left out by the pattern", reported, left)
			})
		}
	}
}

// FuzzOwnNarrowing holds the patterns narrowed to trailwatch's own names
// (ownNamed) to their decisions for any name a caller gives the resource:
// under each deployment's settings, a fixture with that name in its
// resource's field that the decision reports is matched by the narrowed
// pattern.
func FuzzOwnNarrowing(f *testing.F) {
	for _, s := range []string{"Trailwatch-NotificationsTopic-1", "trailwatch/slack-webhook", "alerts/slack-prod", "TrailwatchMember-x",
		"arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailwatch/slack-webhook-AbCdEf", "https://sqs.eu-west-1.amazonaws.com/1/Trailwatch-Dlq/",
		"arn:aws:lambda:eu-west-1:111122223333:function:Trailwatch-CloudTrailFunction-1:PROD", "orders", "", "Trailwatch-x", "Tráilwatch-", "\xff"} {
		f.Add(s)
	}
	type narrowed struct {
		d        *Detection
		examples map[string][]string
	}
	var all []narrowed
	for id, fields := range ownNamed {
		d := builtin[slices.IndexFunc(builtin, func(d *Detection) bool { return d.ID == id })]
		all = append(all, narrowed{d, ownExamples(f, d, fields)})
	}
	f.Fuzz(func(t *testing.T, name string) {
		if strings.Contains(name, unresolvedMarker) {
			t.Skip("a name CloudFormation resolves at deployment (see ownNameVariants)")
		}
		for _, n := range all {
			for envName, env := range narrowEnvs {
				p := n.d.Narrow(n.d.Pattern, &env)
				for file, paths := range n.examples {
					for _, path := range paths {
						ev := ownVariant(t, file, path, name)
						if _, ok := n.d.Evaluate(ev, &env); ok && !patternMatches(t, p, ev) {
							t.Errorf("%s under %q settings, %s with %s %q: the decision reports it, the narrowed pattern does not match it", n.d.ID, envName, file, path, name)
						}
					}
				}
			}
		}
	})
}

// withoutAlternatives is the pattern without its "$or" conditions: the
// events a detection's decision is written for (its calls).
func withoutAlternatives(p Pattern) Pattern {
	d := make(map[string]any, len(p.Detail))
	for k, v := range p.Detail {
		if k != orKey {
			d[k] = v
		}
	}
	p.Detail = d
	return p
}

// decidedMatches checks, for events the decision reports, that the
// pattern matches them, and for the others which the pattern matches.
func decidedMatches(t *testing.T, d *Detection, env Env, ev *event.Event, wantMatch bool) {
	t.Helper()
	p := d.Narrow(d.Pattern, &env)
	matched := patternMatches(t, p, ev)
	_, decided := d.Evaluate(ev, &env)
	if decided && !matched {
		t.Errorf("the decision reports the event and the pattern does not match it")
	}
	if matched != wantMatch {
		t.Errorf("pattern matches = %t, want %t", matched, wantMatch)
	}
}

func TestDeliveryPatternNarrowedToOwnNames(t *testing.T) {
	d := detectionByID(t, "trailwatch-delivery-tampered")
	env := narrowEnvs["stack"]
	const secret = "secretsmanager/trailwatch-delivery-tampered-put-secret-value.json"
	const topic = "sns/trailwatch-delivery-tampered-delete-topic.json"
	const queue = "sqs/trailwatch-delivery-tampered-delete-queue.json"
	const table = "dynamodb/trailwatch-delivery-tampered-delete-table.json"
	const alarms = "cloudwatch/trailwatch-delivery-tampered-disable-alarm-actions.json"
	for _, tc := range []struct {
		name, fixture string
		set           map[string]any
		match         bool
	}{
		{"secret by name", secret, nil, true},
		{"secret by ARN", secret, map[string]any{"requestParameters.secretId": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailwatch/slack-webhook-Rk3T9q"}, true},
		{"secret by partial ARN", secret, map[string]any{"requestParameters.secretId": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:trailwatch/slack-webhook"}, true},
		{"secret CloudFormation named", secret, map[string]any{"requestParameters.secretId": "Trailwatch-SlackSecret-x1"}, true},
		{"another secret", secret, map[string]any{"requestParameters.secretId": "prod/stripe-api-key"}, false},
		{"another secret by ARN", secret, map[string]any{"requestParameters.secretId": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf"}, false},
		{"secret id missing", secret, map[string]any{"requestParameters.secretId": nil}, false},
		{"own topic", topic, nil, true},
		{"another topic", topic, map[string]any{"requestParameters.topicArn": "arn:aws:sns:eu-west-1:111122223333:orders"}, false},
		{"own subscription", topic, map[string]any{"eventName": "Unsubscribe", "requestParameters.topicArn": nil,
			"requestParameters.subscriptionArn": "arn:aws:sns:eu-west-1:111122223333:Trailwatch-Topic-1:4f8e2b1c"}, true},
		{"own queue", queue, nil, true},
		{"own queue, trailing slash", queue, map[string]any{"requestParameters.queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/Trailwatch-Dlq-1/"}, true},
		{"another queue", queue, map[string]any{"requestParameters.queueUrl": "https://sqs.eu-west-1.amazonaws.com/111122223333/orders-dlq"}, false},
		{"own table", table, nil, true},
		{"own table by ARN", table, map[string]any{"requestParameters.tableName": "arn:aws:dynamodb:eu-west-1:111122223333:table/Trailwatch-State-1"}, true},
		{"another table", table, map[string]any{"requestParameters.tableName": "orders"}, false},
		{"own alarms", alarms, nil, true},
		{"one own alarm among others", alarms, map[string]any{"requestParameters.alarmNames": []any{"orders-5xx", "Trailwatch-AlarmsFunctionErrors-1"}}, true},
		{"other alarms", alarms, map[string]any{"requestParameters.alarmNames": []any{"orders-5xx"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decidedMatches(t, d, env, withDetail(t, tc.fixture, tc.set), tc.match)
		})
	}
}

func TestDeliveryPatternStaysBroad(t *testing.T) {
	d := detectionByID(t, "trailwatch-delivery-tampered")
	many := Env{OwnPrefixes: []string{"Trailwatch-"}}
	for i := 0; i < 30; i++ {
		many.OwnNames = append(many.OwnNames, "alerts/slack-"+strings.Repeat("x", i+10))
	}
	for name, env := range map[string]Env{
		"no settings":                   {},
		"unresolved names, no prefixes": {OwnNames: []string{"${Token[TOKEN.7]}"}},
		"a name with a wildcard":        {OwnPrefixes: []string{"Trailwatch-"}, OwnNames: []string{"alerts*"}},
		"past the size quota":           many,
	} {
		t.Run(name, func(t *testing.T) {
			if got := narrowDeliveryPattern(d.Pattern, &env); !reflectEqualJSON(t, got, d.Pattern) {
				t.Errorf("pattern narrowed to %v", got)
			}
		})
	}
	env := narrowEnvs["stack"]
	j, _ := narrowDeliveryPattern(d.Pattern, &env).JSON()
	if strings.Contains(j, "Token") || !strings.Contains(j, `"*trailwatch/slack-webhook*"`) || !strings.Contains(j, `"*Trailwatch-*"`) {
		t.Errorf("narrowed pattern %s: want the secret and the prefixes, no unresolved name", j)
	}
}

func reflectEqualJSON(t *testing.T, a, b Pattern) bool {
	t.Helper()
	ja, err := a.JSON()
	if err != nil {
		t.Fatal(err)
	}
	jb, err := b.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return ja == jb
}

func detectionByID(t *testing.T, id string) *Detection {
	t.Helper()
	i := slices.IndexFunc(builtin, func(d *Detection) bool { return d.ID == id })
	if i < 0 {
		t.Fatalf("no detection %s", id)
	}
	return builtin[i]
}

func TestUsualInstanceTypesAreNeverReported(t *testing.T) {
	for _, typ := range usualInstanceTypes {
		if why := unusualInstanceType(typ); why != "" {
			t.Errorf("usualInstanceTypes lists %s, which the decision reports (%s)", typ, why)
		}
	}
}

func TestUnusualInstancesPattern(t *testing.T) {
	d := detectionByID(t, "ec2-instance-unusual")
	const small = "ec2/ec2-instance-unusual-t3-micro.json"
	const template = "ec2/ec2-instance-unusual-metal-launch-template.json"
	regions := Env{AllowedRegions: []string{"us-east-1", "eu-west-1", "eu-central-1"}}
	for _, tc := range []struct {
		name, fixture string
		env           Env
		set           map[string]any
		match         bool
	}{
		{"small type", small, Env{}, map[string]any{"awsRegion": "us-east-1"}, false},
		{"small type, allowed region", small, regions, map[string]any{"awsRegion": "us-east-1"}, false},
		{"small type, other region", small, regions, map[string]any{"awsRegion": "sa-east-1"}, true},
		{"GPU type", small, Env{}, map[string]any{"requestParameters.instanceType": "p4d.24xlarge"}, true},
		{"GPU type in capitals", small, Env{}, map[string]any{"requestParameters.instanceType": "P4D.24XLARGE"}, true},
		{"small type with a space", small, Env{}, map[string]any{"requestParameters.instanceType": " t3.micro"}, true},
		{"very large size", small, Env{}, map[string]any{"requestParameters.instanceType": "c5.24xlarge"}, true},
		{"type unknown to the list", small, Env{}, map[string]any{"requestParameters.instanceType": "m5.4xlarge"}, true},
		{"launch template of a metal type", template, Env{}, nil, true},
		{"launch template of a small type", template, Env{}, map[string]any{"responseElements": map[string]any{
			"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": "i-1", "instanceType": "t3.micro"}}}}}, false},
		{"failed launch template, other region", template, regions, map[string]any{"responseElements": nil, "errorCode": "Client.UnauthorizedOperation", "awsRegion": "ap-south-1"}, true},
		{"failed launch template, allowed region", template, regions, map[string]any{"responseElements": nil, "errorCode": "Client.UnauthorizedOperation"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			decidedMatches(t, d, tc.env, withDetail(t, tc.fixture, tc.set), tc.match)
		})
	}
}

func TestMatcherPatterns(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      string
	}{
		{"plain", `{"source":["aws.s3"]}`, []string{`{"source":["aws.s3"]}`}, ""},
		{"or in detail", `{"source":["aws.s3"],"detail":{"eventName":["A"],"$or":[{"a":["1"]},{"b":{"c":["2"]}}]}}`,
			[]string{`{"detail":{"a":["1"],"eventName":["A"]},"source":["aws.s3"]}`, `{"detail":{"b":{"c":["2"]},"eventName":["A"]},"source":["aws.s3"]}`}, ""},
		{"alternative merges into a sibling object", `{"detail":{"r":{"x":["1"]},"$or":[{"r":{"y":["2"]}},{"z":["3"]}]}}`,
			[]string{`{"detail":{"r":{"x":["1"],"y":["2"]}}}`, `{"detail":{"r":{"x":["1"]},"z":["3"]}}`}, ""},
		{"nested or", `{"$or":[{"a":["1"]},{"$or":[{"b":["2"]},{"c":["3"]}]}]}`,
			[]string{`{"a":["1"]}`, `{"b":["2"]}`, `{"c":["3"]}`}, ""},
		{"two ors multiply", `{"x":{"$or":[{"a":["1"]},{"b":["2"]}]},"y":{"$or":[{"c":["3"]},{"d":["4"]}]}}`,
			[]string{`{"x":{"a":["1"]},"y":{"c":["3"]}}`, `{"x":{"a":["1"]},"y":{"d":["4"]}}`, `{"x":{"b":["2"]},"y":{"c":["3"]}}`, `{"x":{"b":["2"]},"y":{"d":["4"]}}`}, ""},
		{"field compared twice", `{"a":["1"],"$or":[{"a":["2"]},{"b":["3"]}]}`, nil, "two conditions"},
		{"empty or", `{"$or":[]}`, nil, "no alternative"},
		{"alternative not an object", `{"$or":["a"]}`, nil, "not an object"},
		{"or not a list", `{"$or":{"a":["1"]}}`, nil, "list of alternatives"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MatcherPatterns(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("MatcherPatterns =\n%v\nwant\n%v", got, tc.want)
			}
		})
	}
	// Too many combinations are refused.
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < 9; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"f` + string(rune('a'+i)) + `":{"$or":[{"a":["1"]},{"b":["2"]}]}`)
	}
	b.WriteString("}")
	if _, err := MatcherPatterns(b.String()); err == nil {
		t.Error("512 combinations accepted")
	}
}

func TestWhereAny(t *testing.T) {
	p := APICall([]string{"s3.amazonaws.com"}, "PutBucketAcl")
	q := p.WhereAny(Cond("requestParameters.bucketName", "a"), Cond("requestParameters.x-amz-acl", map[string]any{"prefix": "public"}))
	j, err := q.JSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `"$or":[{"requestParameters":{"bucketName":["a"]}},{"requestParameters":{"x-amz-acl":[{"prefix":"public"}]}}]`
	if !strings.Contains(j, want) {
		t.Errorf("pattern %s lacks %s", j, want)
	}
	if _, ok := p.Detail[orKey]; ok {
		t.Error("WhereAny changed the pattern it was called on")
	}
	if same := p.WhereAny(); !reflectEqualJSON(t, same, p) {
		t.Error("WhereAny() with no alternative changed the pattern")
	}
}
