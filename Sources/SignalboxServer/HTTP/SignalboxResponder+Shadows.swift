import Hummingbird
import ServiceLifecycle
import SignalboxCore
import SignalboxJSON

extension SignalboxResponder {
    /// `GET|POST|DELETE /things/{thing}/shadow[?name=N]`.
    func shadow(
        thing: String, method: HTTPRequest.Method, query: [String: String], body: [UInt8], _ principal: Principal
    ) async throws -> Response {
        let key = ShadowKey(thing: thing, name: query["name"])
        do {
            try key.validate(configuration.limits)
        } catch {
            throw APIError(error)
        }
        try await authorize(principal, thing: thing)
        let reply: Value
        do {
            switch method {
            case .post: reply = try await shadows.update(key, body: body)
            case .delete: reply = try await shadows.delete(key, body: body)
            default: reply = try await shadows.get(key, body: body)
            }
        } catch {
            throw APIError(error)
        }
        return json(reply)
    }

    /// `GET /api/things/shadow/ListNamedShadowsForThing/{thing}?pageSize=&nextToken=`.
    func listNamedShadows(thing: String, query: [String: String], _ principal: Principal) async throws -> Response {
        do {
            try ShadowKey(thing: thing).validate(configuration.limits)
        } catch {
            throw APIError(error)
        }
        var pageSize: Int?
        if let text = query["pageSize"] {
            guard let size = Int(text) else { throw APIError.badRequest("pageSize must be an integer") }
            pageSize = size
        }
        try await authorize(principal, thing: thing)
        do {
            return json(
                try await shadows.listNamedShadows(thing: thing, pageSize: pageSize, nextToken: query["nextToken"]))
        } catch {
            throw APIError(error)
        }
    }

    /// `GET /gateways/{gateway}/sync?cursor=C&wait=S&limit=L`.
    func sync(gateway: String, query: [String: String], _ principal: Principal) async throws -> Response {
        switch principal {
        case .admin:
            let known = try await registryCall { try await registry.gateways().contains { $0.name == gateway } }
            guard known else { throw APIError.notFound("No gateway with this name") }
        case .gateway(let own):
            guard own == gateway else { throw APIError.forbidden }
        }
        func integer(_ name: String, default value: Int64) throws(APIError) -> Int64 {
            guard let text = query[name] else { return value }
            guard let number = Int64(text), number >= 0 else {
                throw APIError.badRequest("\(name) must be a non-negative integer")
            }
            return number
        }
        let cursor = try integer("cursor", default: 0)
        let waitSeconds = try integer("wait", default: 0)
        let limit = try integer("limit", default: 1000)
        guard (1...1000).contains(limit) else { throw APIError.badRequest("limit must be between 1 and 1000") }
        let wait = min(Duration.seconds(waitSeconds), configuration.maxSyncWait)
        let things = Set(try await registryCall { try await registry.things(of: gateway) })
        let shadows = self.shadows
        do {
            let reply = try await cancelWhenGracefulShutdown {
                try await shadows.sync(things: things, cursor: cursor, wait: wait, limit: Int(limit))
            }
            return json(reply)
        } catch let error as ShadowError {
            throw APIError(error)
        } catch is CancellationError {
            throw APIError.unavailable
        }
    }

    /// Lets `principal` at `thing`'s shadows: admins always, gateways when the thing is theirs (or
    /// unbound and auto-binding is on, which binds it to them).
    func authorize(_ principal: Principal, thing: String) async throws(APIError) {
        guard case .gateway(let gateway) = principal else { return }
        let owner = try await registryCall { try await registry.gateway(of: thing) }
        if owner == gateway { return }
        guard owner == nil, configuration.autoBindDevices else { throw APIError.forbidden }
        do {
            try await registry.bind(thing: thing, to: gateway)
            logger.info("device auto-bound", metadata: ["device.id": "\(thing)", "gateway.name": "\(gateway)"])
        } catch IdentityError.thingBoundElsewhere {
            throw APIError.forbidden
        } catch {
            logger.error("identity registry failed", metadata: ["error.type": "\(type(of: error))"])
            throw APIError.internalFailure
        }
    }
}
