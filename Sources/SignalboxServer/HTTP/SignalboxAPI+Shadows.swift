import Hummingbird
import ServiceLifecycle
import SignalboxCore
import SignalboxJSON

extension SignalboxAPI {
    /// The shadow routes: a thing's shadows, the AWS list of its named shadows, and gateway sync.
    func shadowRoutes() -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.add(middleware: defaultBody)
        routes.resource("/things/:thing/shadow", [.get: shadow, .post: shadow, .delete: shadow])
        routes.resource("/api/things/shadow/ListNamedShadowsForThing/:thing", [.get: listNamedShadows])
        routes.resource("/gateways/:gateway/sync", [.get: sync])
        return routes
    }

    /// `GET|POST|DELETE /things/{thing}/shadow[?name=N]`.
    func shadow(_ request: Request, _ context: Context) async throws -> Response {
        let thing = try context.parameter("thing")
        let body = context.body
        let key = ShadowKey(thing: thing, name: context.query["name"])
        do {
            try key.validate(configuration.limits)
        } catch {
            throw APIError(error)
        }
        try await authorize(try context.principal, thing: thing)
        let reply: Value
        do {
            switch request.method {
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
    func listNamedShadows(_ request: Request, _ context: Context) async throws -> Response {
        let thing = try context.parameter("thing")
        do {
            try ShadowKey(thing: thing).validate(configuration.limits)
        } catch {
            throw APIError(error)
        }
        var pageSize: Int?
        if let text = context.query["pageSize"] {
            guard let size = Int(text) else { throw APIError.badRequest("pageSize must be an integer") }
            pageSize = size
        }
        try await authorize(try context.principal, thing: thing)
        do {
            return json(
                try await shadows.listNamedShadows(
                    thing: thing, pageSize: pageSize, nextToken: context.query["nextToken"]))
        } catch {
            throw APIError(error)
        }
    }

    /// `GET /gateways/{gateway}/sync?cursor=C&wait=S&limit=L`.
    func sync(_ request: Request, _ context: Context) async throws -> Response {
        let gateway = try context.parameter("gateway")
        switch try context.principal {
        case .admin:
            let known = try await registryCall { try await registry.gateways().contains { $0.name == gateway } }
            guard known else { throw APIError.notFound("No gateway with this name") }
        case .gateway(let own):
            guard own == gateway else { throw APIError.forbidden }
        }
        let cursor = try context.target.integer("cursor", in: 0...Int64.max) ?? 0
        let waitSeconds = try context.target.integer("wait", in: 0...Int64.max) ?? 0
        let limit = try context.target.integer("limit", in: 1...1000) ?? 1000
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
