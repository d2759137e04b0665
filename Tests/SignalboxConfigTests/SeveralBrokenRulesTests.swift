import SignalboxCore
import Testing

@testable import SignalboxConfig

/// `signalbox check` on a file with several broken rules reports every problem, in file order.
struct SeveralBrokenRulesTests {
    static let yaml = #"""
        version: 1
        rules:
          - name: too-warm
            sql: >-
              SET @limit = get_shadow(topic(4)).state.desired.maxTemp
              SELECT topic(4) AS fridge, temp
              FROM 'gateways/+/devices/+/telemetry'
              WHERE temp > @limt
            actions:
              - function: notify-sms
                with:
                  to: "${get_shadow(topic(4)).state.desired.alertPhone}"
                  body: "Fridge ${topic(4)} is at ${temp} C (limit ${@limt})"
                throttle: { key: "${topic(4)}", per: 1 hour }
          - name: low-battery
            sql: |
              SELECT battery
              FROM 'gateways/+/devices/+/telemetry'
              WHERE battery < 20 AND lenght(topic(4)) > 0
            actions:
              - function: persist
                with: { table: low_battery }
                retry: { attempts: 3, backof: 1s..1m }
          - name: low-battery
            enabled: false
            sql: SELECT * FROM 'gateways/+/devices/+/status'
            actions:
              - function: persist
                with: { table: "${upper(topic(4)}" }
        """# + "\n"

    static let expected = #"""
        error: unknown variable '@limt'
         --> rules.yaml:8:20
          |
        8 |       WHERE temp > @limt
          |                    ^~~~~ did you mean '@limit'?

        error: unknown variable '@limt'
          --> rules.yaml:13:62
           |
        13 |           body: "Fridge ${topic(4)} is at ${temp} C (limit ${@limt})"
           |                                                              ^~~~~ did you mean '@limit'?

        error: unknown duration unit 'hour'
          --> rules.yaml:14:48
           |
        14 |         throttle: { key: "${topic(4)}", per: 1 hour }
           |                                                ^~~~ use ms, s, m, h or d, like 250ms, 10s, 5m, 1h

        error: unknown function 'lenght'
          --> rules.yaml:19:30
           |
        19 |       WHERE battery < 20 AND lenght(topic(4)) > 0
           |                              ^~~~~~ did you mean 'length'?

        error: unknown key 'backof' in retry
          --> rules.yaml:23:31
           |
        23 |         retry: { attempts: 3, backof: 1s..1m }
           |                               ^~~~~~ did you mean 'backoff'?

        error: there is already a rule named 'low-battery'
          --> rules.yaml:24:11
           |
        24 |   - name: low-battery
           |           ^~~~~~~~~~~ rule names must be unique; the first is on line 15

        error: expected ',' or ')', found end of input
          --> rules.yaml:29:41
           |
        29 |         with: { table: "${upper(topic(4)}" }
           |                                         ^

        error: rules.yaml has 7 errors
        """# + "\n"

    @Test func reportsEveryProblemOfEveryRule() {
        let (output, isValid) = RulesLoader(environment: [:]).check(yaml: Self.yaml, name: "rules.yaml")
        #expect(!isValid)
        #expect(output == Self.expected)
    }

    @Test func theThrownErrorCarriesTheDiagnosticsInFileOrder() {
        #expect {
            try RulesLoader(environment: [:]).load(yaml: Self.yaml, name: "rules.yaml")
        } throws: { error in
            guard let error = error as? RulesError else { return false }
            let lines = error.diagnostics.compactMap { $0.location?.line }
            return error.diagnostics.count == 7 && lines == lines.sorted()
                && error.diagnostics.map(\.ruleName) == [
                    "too-warm", "too-warm", "too-warm", "low-battery", "low-battery", "low-battery", "low-battery",
                ]
        }
    }
}
