import Hummingbird

/// The endpoints, matched on percent-decoded path segments.
package enum Route: Sendable, Hashable {
    case health
    case ready
    /// `/things/{thing}/shadow`
    case shadow(thing: String)
    /// `/api/things/shadow/ListNamedShadowsForThing/{thing}`
    case listNamedShadows(thing: String)
    /// `/gateways/{gateway}/sync`
    case sync(gateway: String)
    /// `/admin/gateways`
    case adminGateways
    /// `/admin/gateways/{gateway}`
    case adminGateway(String)
    /// `/admin/gateways/{gateway}/devices`
    case adminDevices(gateway: String)
    /// `/admin/gateways/{gateway}/devices/{thing}`
    case adminDevice(gateway: String, thing: String)
    /// `/admin/tokens`
    case adminTokens
    /// `/admin/tokens/{id}`
    case adminToken(String)
    /// `/topics/{topic}`: the topic is the rest of the path, one encoded segment (`a%2Fb`) or several.
    case publish(topic: String)
    /// `/gateways/{gateway}/messages`
    case gatewayMessages(gateway: String)
    /// `/records`
    case recordTables
    /// `/records/{table}`
    case records(table: String)
    /// `/admin/rules`
    case adminRules
    /// `/admin/rules/reload`
    case adminRulesReload
    /// `/admin/rules/test`
    case adminRulesTest
    /// `/admin/dead-letters`
    case adminDeadLetters
    /// `/admin/dead-letters/{id}`
    case adminDeadLetter(String)
    /// `/admin/dead-letters/{id}/retry`
    case adminDeadLetterRetry(String)
    /// `/admin/throttles`
    case adminThrottles
    /// `/metrics`
    case metrics

    /// The route of decoded `segments` (the path split on `/`, without the leading empty one).
    package init?(segments: [String]) {
        switch segments.count {
        case 1 where segments[0] == "healthz": self = .health
        case 1 where segments[0] == "readyz": self = .ready
        case 3 where segments[0] == "things" && segments[2] == "shadow": self = .shadow(thing: segments[1])
        case 5 where segments[0..<4] == ["api", "things", "shadow", "ListNamedShadowsForThing"]:
            self = .listNamedShadows(thing: segments[4])
        case 3 where segments[0] == "gateways" && segments[2] == "sync": self = .sync(gateway: segments[1])
        case 2 where segments == ["admin", "gateways"]: self = .adminGateways
        case 3 where segments[0..<2] == ["admin", "gateways"]: self = .adminGateway(segments[2])
        case 4 where segments[0..<2] == ["admin", "gateways"] && segments[3] == "devices":
            self = .adminDevices(gateway: segments[2])
        case 5 where segments[0..<2] == ["admin", "gateways"] && segments[3] == "devices":
            self = .adminDevice(gateway: segments[2], thing: segments[4])
        case 2 where segments == ["admin", "tokens"]: self = .adminTokens
        case 3 where segments[0..<2] == ["admin", "tokens"]: self = .adminToken(segments[2])
        case 2... where segments[0] == "topics": self = .publish(topic: segments[1...].joined(separator: "/"))
        case 3 where segments[0] == "gateways" && segments[2] == "messages":
            self = .gatewayMessages(gateway: segments[1])
        case 1 where segments[0] == "records": self = .recordTables
        case 2 where segments[0] == "records": self = .records(table: segments[1])
        case 2 where segments == ["admin", "rules"]: self = .adminRules
        case 3 where segments == ["admin", "rules", "reload"]: self = .adminRulesReload
        case 3 where segments == ["admin", "rules", "test"]: self = .adminRulesTest
        case 2 where segments == ["admin", "dead-letters"]: self = .adminDeadLetters
        case 3 where segments[0..<2] == ["admin", "dead-letters"]: self = .adminDeadLetter(segments[2])
        case 4 where segments[0..<2] == ["admin", "dead-letters"] && segments[3] == "retry":
            self = .adminDeadLetterRetry(segments[2])
        case 2 where segments == ["admin", "throttles"]: self = .adminThrottles
        case 1 where segments[0] == "metrics": self = .metrics
        default: return nil
        }
    }

    /// The methods the route answers.
    package var methods: Set<HTTPRequest.Method> {
        switch self {
        case .health, .ready, .listNamedShadows, .sync, .adminDevices: [.get]
        case .recordTables, .records, .adminRules, .adminDeadLetters, .metrics: [.get]
        case .publish, .gatewayMessages, .adminRulesReload, .adminRulesTest, .adminDeadLetterRetry: [.post]
        case .shadow: [.get, .post, .delete]
        case .adminGateways, .adminTokens: [.get, .post]
        case .adminGateway, .adminToken, .adminDeadLetter: [.delete]
        case .adminDevice: [.put, .delete]
        case .adminThrottles: [.get, .delete]
        }
    }

    /// Whether the route needs no credentials.
    package var isPublic: Bool {
        switch self {
        case .health, .ready: true
        default: false
        }
    }

    /// Whether only admins may use the route (`/metrics` too, unless the configuration makes it public).
    package var isAdmin: Bool {
        switch self {
        case .adminGateways, .adminGateway, .adminDevices, .adminDevice, .adminTokens, .adminToken: true
        case .recordTables, .records, .adminRules, .adminRulesReload, .adminRulesTest, .adminDeadLetters,
            .adminDeadLetter, .adminDeadLetterRetry, .adminThrottles, .metrics:
            true
        default: false
        }
    }
}

/// A request target split into its raw path, raw query, decoded segments and decoded query items.
package struct RequestTarget: Sendable {
    /// The path as sent.
    package var rawPath: String
    /// The query as sent, without `?`.
    package var rawQuery: String?
    /// The percent-decoded path segments, without the leading empty one.
    package var segments: [String]
    /// The percent-decoded query items; the last of repeated names wins.
    package var query: [String: String]

    /// Splits and decodes `target` (`/things/a%3Ab/shadow?name=%24c`).
    ///
    /// - Throws: 400 for malformed percent-encoding or bytes that are not UTF-8.
    package init(_ target: String) throws(APIError) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        rawPath = String(parts[0])
        rawQuery = parts.count > 1 ? String(parts[1]) : nil
        var segments: [String] = []
        for segment in rawPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard let decoded = PercentEncoding.decode(segment) else {
                throw .badRequest("Malformed percent-encoding in the request path")
            }
            segments.append(decoded)
        }
        self.segments = segments
        var query: [String: String] = [:]
        for item in (rawQuery ?? "").split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = PercentEncoding.decode(pair[0]),
                let value = pair.count > 1 ? PercentEncoding.decode(pair[1]) : ""
            else {
                throw .badRequest("Malformed percent-encoding in the query string")
            }
            query[name] = value
        }
        self.query = query
    }
}
