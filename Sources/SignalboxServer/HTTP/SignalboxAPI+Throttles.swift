import Hummingbird
import SignalboxCore
import SignalboxJSON
import SignalboxSQL

extension SignalboxAPI {
    /// `GET /admin/throttles?rule=&limit=`: `{"throttles": [...], "total": N}`, the windows open now and
    /// the keys held by invocations in progress, by rule, action and key (limit 1–10,000, default 1,000;
    /// `total` counts them all).
    func throttles(_ request: Request, _ context: Context) throws -> Response {
        let rules = try rulesControl()
        let rule = try Self.throttleRule(context.query)
        let limit = try context.target.integer("limit", in: 1...10_000) ?? 1000
        let windows = rules.throttleWindows(rule: rule)
        return json([
            "throttles": .array(windows.prefix(limit).map(RuntimeJSON.throttleWindow)),
            "total": .int(Int64(windows.count)),
        ])
    }

    /// `DELETE /admin/throttles?rule=R[&key=K]` or `?all=true`: closes the matching windows (the next
    /// invocation for their keys runs) and drops the reservations of invocations in progress;
    /// 200 `{"reset": N}`.
    func resetThrottles(_ request: Request, _ context: Context) async throws -> Response {
        let query = context.query
        let rules = try rulesControl()
        let rule = try Self.throttleRule(query)
        let key = query["key"]
        switch query["all"] {
        case nil, "false"?:
            guard rule != nil else {
                throw APIError.badRequest("Name the rule (rule=NAME, and key=KEY for one key) or reset all (all=true)")
            }
        case "true"?:
            guard rule == nil, key == nil else { throw APIError.badRequest("all=true takes no rule or key") }
        default:
            throw APIError.badRequest("all must be true or false")
        }
        let count: Int
        do {
            count = try await rules.resetThrottles(rule: rule, key: key)
        } catch {
            logger.error("throttle store failed", metadata: ["error.type": "\(type(of: error))"])
            throw APIError.internalFailure
        }
        logger.info("throttles reset", metadata: ["throttle.reset": "\(count)"])
        return json(["reset": .int(Int64(count))])
    }

    /// The `rule` query item: a rule name, or nil when absent.
    static func throttleRule(_ query: [String: String]) throws(APIError) -> String? {
        guard let rule = query["rule"] else { return nil }
        guard RuleName.isValid(rule) else { throw APIError.badRequest("rule must be a rule name ([A-Za-z0-9_-])") }
        return rule
    }
}
