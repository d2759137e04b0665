import Testing

@testable import SignalboxConfig

/// One rules file and the exact `signalbox check` output for it.
struct GoldenCase: Sendable, CustomTestStringConvertible {
    let name: String
    let yaml: String
    let environment: [String: String]
    let expected: String

    init(_ name: String, yaml: String, environment: [String: String], expected: String) {
        self.name = name
        self.yaml = yaml
        self.environment = environment
        self.expected = expected
    }

    var testDescription: String { name }
}

/// Golden output of `signalbox check` for every kind of error a rules file can have.
struct RulesCheckGoldenTests {
    static let cases: [GoldenCase] = [
        GoldenCase(
            "yaml-syntax",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: "SELECT * FROM 'a'
                   actions: []
                """# + "\n",
            environment: [:],
            expected:
                "error: invalid YAML: found unexpected end of stream\n --> rules.yaml:6:1\n  |\n6 | \n  | ^ while scanning a quoted scalar starting on line 4\n\nerror: rules.yaml has 1 error\n"
        ),
        GoldenCase(
            "yaml-colon-in-plain-scalar",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT temp AS t: FROM 'a'
                    actions: [{ function: log }]
                """# + "\n",
            environment: [:],
            expected: #"""
                error: invalid YAML: mapping values are not allowed in this context
                 --> rules.yaml:4:26
                  |
                4 |     sql: SELECT temp AS t: FROM 'a'
                  |                          ^ ': ' in a plain value starts a mapping; quote the value or use a block scalar (>-)

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "yaml-tab",
            yaml: "version: 1\nrules:\n\t- name: r1\n",
            environment: [:],
            expected: #"""
                error: invalid YAML: found character that cannot start any token
                 --> rules.yaml:3:1
                  |
                3 |  - name: r1
                  | ^

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "duplicate-key",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a'
                    actions: [{ function: log }]
                    name: r2
                """# + "\n",
            environment: [:],
            expected: #"""
                error: duplicate key 'name'
                 --> rules.yaml:6:5
                  |
                6 |     name: r2
                  |     ^~~~ it is already set on line 3

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "empty-file",
            yaml: "",
            environment: [:],
            expected:
                "error: the rules file is empty\n --> rules.yaml:1:1\n  |\n1 | \n  | ^ start with 'version: 1' and a 'rules:' list\n\nerror: rules.yaml has 1 error\n"
        ),
        GoldenCase(
            "top-level-list",
            yaml: #"""
                - name: r1
                """# + "\n",
            environment: [:],
            expected: #"""
                error: expected a mapping for the rules file, found a list
                 --> rules.yaml:1:1
                  |
                1 | - name: r1
                  | ^

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "missing-version",
            yaml: #"""
                rules: []
                """# + "\n",
            environment: [:],
            expected: #"""
                error: missing required key 'version' in the rules file
                 --> rules.yaml:1:1
                  |
                1 | rules: []
                  | ^~~~~ add 'version: 1' as the first line

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "unsupported-version",
            yaml: #"""
                version: 2
                rules: []
                """# + "\n",
            environment: [:],
            expected: #"""
                error: unsupported rules file version 2
                 --> rules.yaml:1:10
                  |
                1 | version: 2
                  |          ^ this Signalbox reads version 1

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "unknown-key-suggestion",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions: [{ function: log }]
                    errorAction: { function: log }
                """# + "\n",
            environment: [:],
            expected: #"""
                error: unknown key 'errorAction' in a rule
                 --> rules.yaml:6:5
                  |
                6 |     errorAction: { function: log }
                  |     ^~~~~~~~~~~ did you mean 'error_action'?

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "unknown-key-list",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        colour: red
                """# + "\n",
            environment: [:],
            expected: #"""
                error: unknown key 'colour' in an action
                 --> rules.yaml:7:9
                  |
                7 |         colour: red
                  |         ^~~~~~ expected one of: function, with, retry, timeout, throttle

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "missing-key",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    actions: [{ function: log }]
                """# + "\n",
            environment: [:],
            expected: #"""
                error: missing required key 'sql' in a rule
                 --> rules.yaml:3:5
                  |
                3 |   - name: r1
                  |     ^~~~

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "type-mismatch",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    enabled: maybe
                    actions: [{ function: log }]
                """# + "\n",
            environment: [:],
            expected: #"""
                error: expected true or false for 'enabled', found a string
                 --> rules.yaml:5:14
                  |
                5 |     enabled: maybe
                  |              ^~~~~

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "rules-not-a-list",
            yaml: #"""
                version: 1
                rules:
                  name: r1
                """# + "\n",
            environment: [:],
            expected: #"""
                error: expected a list of rules for 'rules', found a mapping
                 --> rules.yaml:3:3
                  |
                3 |   name: r1
                  |   ^

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "invalid-rule-name",
            yaml: #"""
                version: 1
                rules:
                  - name: fridge.too.warm
                    sql: SELECT * FROM 'a'
                    actions: [{ function: log }]
                """# + "\n",
            environment: [:],
            expected: #"""
                error: a rule name may only contain letters, digits, '_' and '-'
                 --> rules.yaml:3:17
                  |
                3 |   - name: fridge.too.warm
                  |                 ^ rename it, like fridge-too-warm

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "duplicate-rule",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions: [{ function: log }]
                  - name: r1
                    sql: SELECT * FROM 'b'
                    actions: [{ function: log }]
                """# + "\n",
            environment: [:],
            expected: #"""
                error: there is already a rule named 'r1'
                 --> rules.yaml:6:11
                  |
                6 |   - name: r1
                  |           ^~ rule names must be unique; the first is on line 3

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "invalid-function-name",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: Notify_SMS
                """# + "\n",
            environment: [:],
            expected: #"""
                error: invalid handler function name
                 --> rules.yaml:6:19
                  |
                6 |       - function: Notify_SMS
                  |                   ^~~~~~~~~~ did you mean 'notify-sms'?

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "no-actions",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions: []
                """# + "\n",
            environment: [:],
            expected: #"""
                error: a rule needs at least one action
                 --> rules.yaml:5:14
                  |
                5 |     actions: []
                  |              ^ add one, like '- function: log'

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "error-action-list",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions: [{ function: log }]
                    error_action:
                      - function: log
                """# + "\n",
            environment: [:],
            expected: #"""
                error: expected a mapping for 'error_action', found a list
                 --> rules.yaml:7:7
                  |
                7 |       - function: log
                  |       ^ error_action is a single action, not a list

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "duration-without-unit",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        timeout: 10
                """# + "\n",
            environment: [:],
            expected: #"""
                error: the duration has no unit
                 --> rules.yaml:7:20
                  |
                7 |         timeout: 10
                  |                    ^ add one, like 10s or 10m

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "duration-unknown-unit",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        throttle: { key: "${topic(2)}", per: 1hour }
                """# + "\n",
            environment: [:],
            expected: #"""
                error: unknown duration unit 'hour'
                 --> rules.yaml:7:47
                  |
                7 |         throttle: { key: "${topic(2)}", per: 1hour }
                  |                                               ^~~~ use ms, s, m, h or d, like 250ms, 10s, 5m, 1h

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "duration-fraction",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        timeout: 1.5s
                """# + "\n",
            environment: [:],
            expected: #"""
                error: durations are whole numbers
                 --> rules.yaml:7:19
                  |
                7 |         timeout: 1.5s
                  |                   ^~~ use a smaller unit, like 1500ms for 1.5s

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "duration-zero",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        timeout: 0s
                """# + "\n",
            environment: [:],
            expected: #"""
                error: 'timeout' must be longer than zero
                 --> rules.yaml:7:18
                  |
                7 |         timeout: 0s
                  |                  ^~ like 10s

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "backoff-reversed",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        retry: { attempts: 3, backoff: 5m..1s }
                """# + "\n",
            environment: [:],
            expected: #"""
                error: the backoff minimum is longer than its maximum
                 --> rules.yaml:7:40
                  |
                7 |         retry: { attempts: 3, backoff: 5m..1s }
                  |                                        ^~~~~~ write MIN..MAX, like 1s..5m

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "attempts-out-of-range",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        retry:
                          attempts: 0
                """# + "\n",
            environment: [:],
            expected: #"""
                error: attempts must be between 1 and 100
                 --> rules.yaml:8:21
                  |
                8 |           attempts: 0
                  |                     ^ attempts counts the first try; 1 means no retry

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "throttle-without-period",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        throttle: { key: "${topic(2)}" }
                """# + "\n",
            environment: [:],
            expected: #"""
                error: missing required key 'per' in throttle
                 --> rules.yaml:7:21
                  |
                7 |         throttle: { key: "${topic(2)}" }
                  |                     ^~~ add a period, like 'per: 1h'

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "env-missing",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: notify-sms
                        with:
                          auth_token: "${env:SMS_AUTH_TOKEN}"
                """# + "\n",
            environment: [:],
            expected: #"""
                error: environment variable 'SMS_AUTH_TOKEN' is not set
                 --> rules.yaml:8:24
                  |
                8 |           auth_token: "${env:SMS_AUTH_TOKEN}"
                  |                        ^~~~~~~~~~~~~~~~~~~~~ set it, or give a default: ${env:SMS_AUTH_TOKEN:-default}

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "env-invalid-name",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        with: { x: "${env:1ST}" }
                """# + "\n",
            environment: [:],
            expected: #"""
                error: invalid environment variable name in '${env:…}'
                 --> rules.yaml:7:27
                  |
                7 |         with: { x: "${env:1ST}" }
                  |                           ^~~ names are letters, digits and '_', not starting with a digit

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "env-unterminated",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        with: { x: "a ${env:TOKEN" }
                """# + "\n",
            environment: [:],
            expected: #"""
                error: unterminated '${env:' reference
                 --> rules.yaml:7:23
                  |
                7 |         with: { x: "a ${env:TOKEN" }
                  |                       ^~~~~~ close it with '}'

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "env-value-with-template",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        with: { x: "${env:TOKEN}" }
                """# + "\n",
            environment: ["TOKEN": "pa${ss"],
            expected: #"""
                error: the value of environment variable 'TOKEN' contains '${'
                 --> rules.yaml:7:21
                  |
                7 |         with: { x: "${env:TOKEN}" }
                  |                     ^~~~~~~~~~~~ templates would read it as an expression

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "env-value-in-sql",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a' WHERE temp > ${env:LIMIT}
                    actions: [{ function: log }]
                """# + "\n",
            environment: ["LIMIT": "s3cr3t)"],
            expected: #"""
                error: the value of environment variable 'LIMIT' is not valid here (parse error)
                 --> rules.yaml:4:41
                  |
                4 |     sql: SELECT * FROM 'a' WHERE temp > ${env:LIMIT}
                  |                                         ^~~~~~~~~~~~ the value is not shown

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "sql-unknown-function",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT uper(name) FROM 'a/+'
                    actions: [{ function: log }]
                """# + "\n",
            environment: [:],
            expected: #"""
                error: unknown function 'uper'
                 --> rules.yaml:4:17
                  |
                4 |     sql: SELECT uper(name) FROM 'a/+'
                  |                 ^~~~ did you mean 'upper'?

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "sql-cloud-function",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: >-
                      SELECT get_dynamodb('t', 'k', 'v', 'arn') AS x
                      FROM 'a/+'
                    actions: [{ function: log }]
                """# + "\n",
            environment: [:],
            expected: #"""
                error: function 'get_dynamodb' is not available in Signalbox
                 --> rules.yaml:5:14
                  |
                5 |       SELECT get_dynamodb('t', 'k', 'v', 'arn') AS x
                  |              ^~~~~~~~~~~~ get_dynamodb reads an Amazon DynamoDB table, which Signalbox cannot reach; keep per-device data in a shadow and read it with get_shadow(thing) instead

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "sql-syntax",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: |
                      SELECT temp
                      FROM 'a/+'
                      WHERE temp >
                    actions: [{ function: log }]
                """# + "\n",
            environment: [:],
            expected: #"""
                error: expected an expression, found end of input
                 --> rules.yaml:7:19
                  |
                7 |       WHERE temp >
                  |                   ^

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "sql-topic-filter",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: "SELECT temp FROM 'a/#/b'"
                    actions: [{ function: log }]
                """# + "\n",
            environment: [:],
            expected: #"""
                error: invalid topic filter: '#' must be the last level of a topic filter
                 --> rules.yaml:4:31
                  |
                4 |     sql: "SELECT temp FROM 'a/#/b'"
                  |                               ^~~

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "template-unknown-variable",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: >-
                      SET @limit = 5
                      SELECT temp FROM 'a/+'
                    actions:
                      - function: log
                        with:
                          message: "over ${@limt}"
                """# + "\n",
            environment: [:],
            expected: #"""
                error: unknown variable '@limt'
                  --> rules.yaml:10:28
                   |
                10 |           message: "over ${@limt}"
                   |                            ^~~~~ did you mean '@limit'?

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "template-unterminated",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        with:
                          message: "Fridge ${topic(2) is warm"
                """# + "\n",
            environment: [:],
            expected: #"""
                error: unterminated '${' in substitution template
                 --> rules.yaml:8:28
                  |
                8 |           message: "Fridge ${topic(2) is warm"
                  |                            ^~ close the expression with '}'

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "template-throttle-key",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        throttle: { key: "${topc(2)}", per: 1h }
                """# + "\n",
            environment: [:],
            expected: #"""
                error: unknown function 'topc'
                 --> rules.yaml:7:29
                  |
                7 |         throttle: { key: "${topc(2)}", per: 1h }
                  |                             ^~~~ did you mean 'topic'?

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "merge-key",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        with:
                          <<: { a: 1 }
                """# + "\n",
            environment: [:],
            expected: #"""
                error: YAML merge keys ('<<') are not supported
                 --> rules.yaml:8:11
                  |
                8 |           <<: { a: 1 }
                  |           ^~ repeat the keys, or alias the whole value

                error: rules.yaml has 1 error
                """# + "\n"
        ),
        GoldenCase(
            "bad-tag",
            yaml: #"""
                version: 1
                rules:
                  - name: r1
                    sql: SELECT * FROM 'a/+'
                    actions:
                      - function: log
                        with:
                          n: !!int ten
                """# + "\n",
            environment: [:],
            expected: #"""
                error: a value tagged !!int must be an integer
                 --> rules.yaml:8:14
                  |
                8 |           n: !!int ten
                  |              ^~~

                error: rules.yaml has 1 error
                """# + "\n"
        ),
    ]

    @Test(arguments: cases)
    func rendersDiagnostic(_ golden: GoldenCase) {
        let (output, isValid) = RulesLoader(environment: golden.environment).check(
            yaml: golden.yaml, name: "rules.yaml")
        #expect(!isValid)
        #expect(output == golden.expected)
    }
}
