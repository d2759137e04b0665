import HTTPTypes
import Hummingbird
import SignalboxCore
import SignalboxJSON
import SignalboxSQL

extension SignalboxAPI {
    /// The ingest routes, behind the ingest gate: one message, and a gateway's batch.
    func ingestRoutes() -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.add(middleware: IngestGateMiddleware(runtime: runtime))
        let message = routes.group().add(middleware: ingestBody(configuration.maxPayloadBytes, "payload"))
        message.resource("/topics/**", [.post: publish])
        message.resource("/topics", [.post: publish])  // `/topics/` too: an empty topic, refused as such
        routes.group().add(middleware: ingestBody(configuration.maxBatchBytes, "batch"))
            .resource("/gateways/:gateway/messages", [.post: publishBatch])
        return routes
    }

    /// Reads a publish body of at most `bytes`; a larger `what` is refused (413) and counted.
    private func ingestBody(_ bytes: Int, _ what: String) -> BodyMiddleware {
        let metrics = runtime.ingestMetrics
        return BodyMiddleware(
            limit: BodyLimit(
                bytes: bytes, error: .tooLarge("The \(what) exceeds the maximum size allowed (\(bytes) bytes)"),
                onRefusal: { metrics.rejected(.tooLarge) }),
            gate: nil)
    }

    /// `POST /topics/{topic}?qos=0|1&retain=true|false` — the AWS IoT data-plane Publish: the body is
    /// the payload, any content type.
    ///
    /// Replies 200 `{"message": "OK", "traceId": "<message id>"}` with `x-signalbox-message-id` once the
    /// message is journaled. `retain` is validated and otherwise ignored: Signalbox is not the broker,
    /// and, as in AWS, a retained message is still handed to the rules.
    func publish(_ request: Request, _ context: Context) async throws -> Response {
        // The topic is the rest of the path: one encoded level (`a%2Fb`) or several, empty ones kept.
        // The router also matches `//topics/…`; that is no publish.
        guard context.target.segments.first == "topics" else {
            throw APIError.notFound("No endpoint at this path (\(request.method.rawValue))")
        }
        let topic = context.target.segments.dropFirst().joined(separator: "/")
        let principal = try context.principal
        let metrics = runtime.ingestMetrics
        do {
            try Self.checkPublishParameters(context.query)
        } catch {
            metrics.rejected(.invalidParameter)
            throw error
        }
        var gateway: String?
        if case .gateway(let name) = principal { gateway = name }
        try checkTopic(topic, scope: try publishScope(for: principal), label: nil)
        try await checkDevices(of: [topic], principal)
        let message = IncomingMessage(
            topic: topic, payload: context.body, receivedAt: configuration.clock.milliseconds(), gateway: gateway)
        let ids = try await ingest([message], batch: false)
        let id = String(ids.first ?? 0)
        var response = json(["message": "OK", "traceId": .string(id)])
        response.headers[Self.messageIDHeader] = id
        return response
    }

    /// `POST /gateways/{gateway}/messages?cursor=C` — a batch of messages from one gateway (format in
    /// ``MessageBatch``), journaled together or not at all; the reply carries the desired-state changes
    /// pending for the gateway's devices after cursor `C`, exactly as gateway sync returns them.
    func publishBatch(_ request: Request, _ context: Context) async throws -> Response {
        let gateway = try context.parameter("gateway")
        let principal = try context.principal
        let metrics = runtime.ingestMetrics
        switch principal {
        case .admin:
            let known = try await registryCall { try await registry.gateways().contains { $0.name == gateway } }
            guard known else { throw APIError.notFound("No gateway with this name") }
        case .gateway(let own):
            guard own == gateway else {
                throw APIError(
                    .forbidden, "ForbiddenException", "A gateway token may post only to its own gateway's messages")
            }
        }
        let cursor: Int64
        do {
            cursor = try context.target.integer("cursor", in: 0...Int64.max) ?? 0
        } catch {
            metrics.rejected(.invalidParameter)
            throw error
        }
        // A batch that would be refused is not decoded first.
        if runtime.ingest?.isFull == true { throw runtime.overloaded(retryAfter: 1) }
        let batch = MessageBatch.parse(
            context.body, format: MessageBatch.Format(contentType: request.headers[.contentType]),
            maxMessages: configuration.maxBatchMessages,
            maxPayloadBytes: configuration.maxPayloadBytes)
        // The first bad message wins, whether its topic or its syntax is what is wrong.
        let scope = try publishScope(for: principal)
        for (index, item) in batch.messages.enumerated() {
            try checkTopic(item.topic, scope: scope, label: "message \(index)")
        }
        if let failure = batch.failure {
            metrics.rejected(failure.isLimit ? .tooLarge : .invalidBatch)
            throw failure.isLimit ? APIError.tooLarge(failure.message) : APIError.badRequest(failure.message)
        }
        try await checkDevices(of: batch.messages.map(\.topic), principal)
        let receivedAt = configuration.clock.milliseconds()
        let messages = batch.messages.map {
            IncomingMessage(topic: $0.topic, payload: $0.payload, receivedAt: receivedAt, gateway: gateway)
        }
        let ids = messages.isEmpty ? [] : try await ingest(messages, batch: true)

        var reply = JSONObject(minimumCapacity: 6)
        reply.appendUnique(key: "accepted", value: .int(Int64(messages.count)))
        reply.appendUnique(key: "first_id", value: ids.first.map(Value.int) ?? .null)
        reply.appendUnique(key: "last_id", value: ids.last.map(Value.int) ?? .null)
        let box = await messageBox(gateway: gateway, cursor: cursor)
        for key in ["changes", "cursor", "more"] { reply.appendUnique(key: key, value: box[key] ?? .null) }
        return json(.object(reply))
    }

    /// The header carrying the id ingest gave a published message.
    static let messageIDHeader = HTTPField.Name("x-signalbox-message-id")!  // a valid token, checked by the literal

    /// The desired-state changes of `gateway`'s devices after `cursor`, without waiting; when they
    /// cannot be read (the messages are journaled by then, so the batch must not fail), no changes, the
    /// same cursor and `more: true`, which sends the gateway to sync.
    func messageBox(gateway: String, cursor: Int64) async -> Value {
        do {
            let things = Set(try await registry.things(of: gateway))
            return try await shadows.sync(things: things, cursor: cursor, wait: nil)
        } catch {
            logger.error(
                "message box unavailable", metadata: ["gateway.name": "\(gateway)", "error.type": "\(type(of: error))"])
            return ["changes": .array([]), "cursor": .int(cursor), "more": true]
        }
    }

    /// The topics `principal` may publish to: nil (every unreserved topic) for admins.
    func publishScope(for principal: Principal) throws(APIError) -> PublishScope? {
        guard case .gateway(let gateway) = principal else { return nil }
        do {
            return try PublishScope(filters: configuration.gatewayTopicFilters, gateway: gateway)
        } catch {
            logger.error("invalid gateway topic filter", metadata: ["gateway.name": "\(gateway)"])
            throw APIError.internalFailure
        }
    }

    /// Checks that `topic` is a valid topic name, not reserved, and in `scope`; `label` names the
    /// message of a batch in the error. A Basic Ingest topic, `$aws/rules/{rule}/{topic}`, is checked
    /// as its `{topic}` (see ``checkedTopic(_:)``).
    func checkTopic(_ topic: String, scope: PublishScope?, label: String?) throws(APIError) {
        let prefix = label.map { "\($0): " } ?? ""
        do {
            try TopicName.validate(topic)
        } catch {
            runtime.ingestMetrics.rejected(.invalidTopic)
            throw APIError.badRequest("\(prefix)Invalid topic: \(error.message)")
        }
        let topic = Self.checkedTopic(topic)
        if topic.utf8.first == UInt8(ascii: "$") {
            runtime.ingestMetrics.rejected(.reservedTopic)
            throw APIError.badRequest(
                "\(prefix)Topics beginning with '$' ($aws/…, $signalbox/…) are reserved and cannot be published to; "
                    + "update shadows through /things/{thing}/shadow")
        }
        if let scope, !scope.allows(topic) {
            runtime.ingestMetrics.rejected(.forbiddenTopic)
            throw APIError(
                .forbidden, "ForbiddenException",
                "\(prefix)This gateway may publish only to topics matching "
                    + scope.filters.joined(separator: ", "))
        }
    }

    /// Checks that a gateway publishes only for its own devices: the device each topic names
    /// (`devices.key_level` of the active rules) must be bound to `principal`'s gateway, or be bound to
    /// none and get bound to it when auto-binding is on. Admins publish for any device.
    ///
    /// - Throws: ``APIError`` 403 naming the first refused device (and its message, in a batch).
    func checkDevices(of topics: [String], _ principal: Principal) async throws(APIError) {
        guard case .gateway(let gateway) = principal, let policy = runtime.ingest?.devicePolicy else { return }
        let devices = topics.map { policy.device(inTopic: $0) }
        guard devices.contains(where: { $0 != nil }) else { return }
        let refused = try await registryCall { try await bindings.unbound(devices.compactMap { $0 }, of: gateway) }
        guard let first = refused.first, let index = devices.firstIndex(of: first) else { return }
        runtime.ingestMetrics.rejected(.unboundDevice)
        logger.warning(
            "publish refused: device not bound to the gateway",
            metadata: ["device.id": "\(first)", "gateway.name": "\(gateway)"])
        let prefix = topics.count > 1 ? "message \(index): " : ""
        throw APIError(
            .forbidden, "ForbiddenException",
            "\(prefix)Device '\(LogText.escaped(first))' is not bound to gateway '\(LogText.escaped(gateway))'; "
                + "bind it with 'signalbox gateways bind \(LogText.escaped(gateway)) DEVICE'")
    }

    /// The topic the reserved-topic and scope checks apply to: for a Basic Ingest topic
    /// (`$aws/rules/{rule}/{topic}`, which invokes the rule named there alone) its `{topic}`, so a
    /// gateway may send through Basic Ingest only what it may publish directly; else `topic` itself.
    /// The rule name was checked by `TopicName.validate`.
    static func checkedTopic(_ topic: String) -> String {
        BasicIngestTopic(topic).map { String($0.topic) } ?? topic
    }

    /// Validates `qos` (0 or 1, as AWS) and `retain` (`true` or `false`).
    static func checkPublishParameters(_ query: [String: String]) throws(APIError) {
        if let qos = query["qos"], qos != "0" && qos != "1" {
            throw APIError.badRequest("qos must be 0 or 1")
        }
        if let retain = query["retain"], !["true", "false"].contains(retain.lowercased()) {
            throw APIError.badRequest("retain must be true or false")
        }
    }

    /// Hands `messages` to ingest; maps its refusals to HTTP and counts what happened.
    func ingest(_ messages: [IncomingMessage], batch: Bool) async throws(APIError) -> [Int64] {
        let metrics = runtime.ingestMetrics
        guard let ingest = runtime.ingest else {
            metrics.rejected(.unavailable)
            throw APIError.unavailable("Ingest is not available: the rules runtime is not running in this server")
        }
        do {
            let ids = try await ingest.ingest(messages)
            metrics.accepted(messages.count, batch: batch)
            return ids
        } catch {
            switch error {
            case .overloaded(let retryAfter):
                throw runtime.overloaded(retryAfter: retryAfter)
            case .unavailable:
                metrics.rejected(.unavailable)
                throw APIError.unavailable("The rules runtime is not running; retry later")
            case .journalFailed(let reason):
                metrics.rejected(.journalFailed)
                logger.error(
                    "journal failed", metadata: ["journal.error": "\(reason)", "messages.count": "\(messages.count)"])
                throw APIError.unavailable("The journal could not store the messages; retry", retryAfter: 1)
            }
        }
    }
}
