import HTTPTypes
import Hummingbird
import NIOCore
import SignalboxCore
import SignalboxJSON
import SignalboxSQL
import SignalboxShadows

extension SignalboxAPI {
    /// The operation routes (admins only): records, rules, dead letters, throttles, and `/metrics`
    /// unless it is public.
    func operationRoutes() -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.add(middleware: AdminMiddleware(prover: defaultBody))
        // A test message of the largest payload, base64-encoded, inside the request object.
        let trial = max(configuration.maxBodyBytes, configuration.maxPayloadBytes * 2)
        routes.group()
            .add(
                middleware: BodyMiddleware(
                    limit: BodyLimit(
                        bytes: trial, error: .tooLarge("The request exceeds the maximum size allowed (\(trial) bytes)")),
                    gate: runtime.ingestGate
                )
            )
            .resource("/admin/rules/test", [.post: { _, context in try testRules(body: context.body) }])
        routes.add(middleware: defaultBody)
        routes.resource("/records", [.get: { _, _ in try await recordTables() }])
        routes.resource("/records/:table", [.get: records])
        routes.resource(
            "/admin/rules", [.get: { _, _ in json(RuntimeJSON.rulesStatus(try rulesControl().rulesStatus())) }])
        routes.resource("/admin/rules/reload", [.post: { _, _ in try await reloadRules() }])
        routes.resource("/admin/dead-letters", [.get: deadLetters])
        routes.resource("/admin/dead-letters/:id", [.delete: deleteDeadLetter])
        routes.resource("/admin/dead-letters/:id/retry", [.post: retryDeadLetter])
        routes.resource("/admin/throttles", [.get: throttles, .delete: resetThrottles])
        if !configuration.publicMetrics {
            routes.resource("/metrics", [.get: { _, _ in metricsResponse() }])
        }
        return routes
    }

    /// `GET /metrics`: every metric of ``RuntimeDependencies/metrics`` in the Prometheus text format.
    func metricsResponse() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        var text = runtime.metrics.emitToBuffer()
        if let rules = runtime.rules {
            text += RuleCounterExposition.text(rules.rulesStatus()).utf8
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
    }

    /// The running rules, or 503 when this server has none.
    func rulesControl() throws(APIError) -> any RulesControl {
        guard let rules = runtime.rules else {
            throw APIError.unavailable("The rules runtime is not running in this server")
        }
        return rules
    }

    /// `POST /admin/rules/reload`: 200 `{"version": N}`, or 422 with the errors; the old rules keep
    /// running.
    func reloadRules() async throws -> Response {
        switch try await rulesControl().reload() {
        case .loaded(let version):
            logger.info("rules reloaded", metadata: ["rules.version": "\(version)"])
            return json(["version": .int(Int64(version))])
        case .failed(let failure):
            var reply = JSONObject()
            reply.appendUnique(
                key: "message", value: .string("The rules file is invalid; the active rules are unchanged"))
            reply.appendUnique(key: "at", value: .int(failure.at))
            reply.appendUnique(key: "errors", value: RuntimeJSON.diagnostics(failure.diagnostics))
            reply.appendUnique(key: "rendered", value: .string(failure.rendered))
            var response = json(.object(reply), status: .unprocessableContent)
            response.headers[HTTPField.Name("x-amzn-ErrorType")!] = "InvalidRulesException"  // a valid token
            return response
        }
    }

    /// `POST /admin/rules/test` `{"topic", "payload" | "payload_base64", "clientid"?, "principal"?,
    /// "timestamp"?}`: what the message would do to the active rules, nothing executed. The topic and
    /// payload are read exactly as a batch message's, the payload's source bytes included.
    func testRules(body: [UInt8]) throws -> Response {
        let rules = try rulesControl()
        let item: MessageBatch.Item
        switch MessageBatch.parseOne(
            body, ignoring: ["clientid", "principal", "timestamp"], maxPayloadBytes: configuration.maxPayloadBytes)
        {
        case .success(let parsed): item = parsed
        case .failure(let failure):
            throw failure.isLimit ? APIError.tooLarge(failure.message) : APIError.badRequest(failure.message)
        }
        let request = try? JSONParser.parse(body)
        func optionalString(_ name: String) throws(APIError) -> String? {
            switch request?[name] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw APIError.badRequest("'\(name)' must be a string")
            }
        }
        let clientID = try optionalString("clientid")
        let principal = try optionalString("principal")
        var timestamp = configuration.clock.milliseconds()
        switch request?["timestamp"] {
        case nil, .null?: break
        case .int(let value)?: timestamp = value
        default: throw APIError.badRequest("'timestamp' must be an integer (milliseconds since the epoch)")
        }
        do {
            try TopicName.validate(item.topic)
        } catch {
            throw APIError.badRequest("Invalid topic: \(error.message)")
        }
        let message = Message(
            topic: item.topic, payload: item.payload, clientID: clientID, principal: principal, timestamp: timestamp)
        let services = EvaluationServices(shadows: StoredShadowLookup(storage: shadows.storage))
        let trial = RuleTrial(ruleSet: rules.activeRuleSet(), message: message, services: services)
        return json(RuntimeJSON.trial(trial, message: message))
    }
}
