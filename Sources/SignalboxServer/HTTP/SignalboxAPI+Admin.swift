import Hummingbird
import SignalboxCore
import SignalboxJSON

extension SignalboxAPI {
    /// The identity routes (admins only): gateways, their devices, and tokens.
    func identityRoutes() -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.add(middleware: AdminMiddleware(prover: defaultBody))
        routes.add(middleware: defaultBody)
        routes.resource("/admin/gateways", [.get: listGateways, .post: addGateway])
        routes.resource("/admin/gateways/:gateway", [.delete: removeGateway])
        routes.resource("/admin/gateways/:gateway/devices", [.get: listDevices])
        routes.resource("/admin/gateways/:gateway/devices/:thing", [.put: bindDevice, .delete: unbindDevice])
        routes.resource("/admin/tokens", [.get: listTokens, .post: issueToken])
        routes.resource("/admin/tokens/:id", [.delete: revokeToken])
        return routes
    }

    /// `POST /admin/gateways` `{"name"}`: the gateway and its first token (201).
    func addGateway(_ request: Request, _ context: Context) async throws -> Response {
        let name = try stringField("name", in: try object(context.body))
        try await registryCall {
            try await registry.addGateway(Gateway(name: name, createdAt: configuration.clock.seconds()))
        }
        let issued = try await issue(role: .gateway, gateway: name)
        return json(
            [
                "name": .string(name), "token": .string(issued.token), "accessKeyId": .string(issued.id),
                "secretAccessKey": .string(issued.secret),
            ], status: .created)
    }

    /// `GET /admin/gateways`.
    func listGateways(_ request: Request, _ context: Context) async throws -> Response {
        let gateways = try await registryCall { try await registry.gateways() }
        return json([
            "gateways": .array(gateways.map { ["name": .string($0.name), "createdAt": .int($0.createdAt)] })
        ])
    }

    /// `DELETE /admin/gateways/{gateway}`: the gateway, its tokens and its bindings.
    func removeGateway(_ request: Request, _ context: Context) async throws -> Response {
        let name = try context.parameter("gateway")
        guard try await registryCall({ try await registry.removeGateway(name) }) else {
            throw APIError.notFound("No gateway with this name")
        }
        authenticator.cache.removeAll()  // its tokens are gone
        bindings.forget(name)
        return json(["name": .string(name), "deleted": true])
    }

    /// `GET /admin/gateways/{gateway}/devices`.
    func listDevices(_ request: Request, _ context: Context) async throws -> Response {
        let gateway = try context.parameter("gateway")
        try await requireGateway(gateway)
        let things = try await registryCall { try await registry.things(of: gateway) }
        return json(["gateway": .string(gateway), "devices": .array(things.map(Value.string))])
    }

    /// `PUT /admin/gateways/{gateway}/devices/{thing}`: binds the thing to the gateway.
    func bindDevice(_ request: Request, _ context: Context) async throws -> Response {
        let (gateway, thing) = (try context.parameter("gateway"), try context.parameter("thing"))
        do {
            try ShadowKey(thing: thing).validate(configuration.limits)
        } catch {
            throw APIError(error)
        }
        try await registryCall { try await registry.bind(thing: thing, to: gateway) }
        return json(["gateway": .string(gateway), "thing": .string(thing), "bound": true])
    }

    /// `DELETE /admin/gateways/{gateway}/devices/{thing}`: unbinds the thing.
    func unbindDevice(_ request: Request, _ context: Context) async throws -> Response {
        let (gateway, thing) = (try context.parameter("gateway"), try context.parameter("thing"))
        try await requireGateway(gateway)
        let owner = try await registryCall { try await registry.gateway(of: thing) }
        guard owner == gateway else { throw APIError.notFound("The thing is not bound to this gateway") }
        _ = try await registryCall { try await registry.unbind(thing: thing) }
        bindings.forget(gateway)
        return json(["gateway": .string(gateway), "thing": .string(thing), "bound": false])
    }

    /// `POST /admin/tokens` `{"role", "gateway"?, "bearerOnly"?}` (201).
    func issueToken(_ request: Request, _ context: Context) async throws -> Response {
        let request = try object(context.body)
        guard let role = TokenRole(rawValue: try stringField("role", in: request)) else {
            throw APIError.badRequest("role must be 'admin' or 'gateway'")
        }
        var gateway: String?
        if role == .gateway {
            gateway = try stringField("gateway", in: request)
            try await requireGateway(gateway ?? "")
        }
        let bearerOnly: Bool
        switch request["bearerOnly"] {
        case nil, .null?: bearerOnly = false
        case .bool(let value)?: bearerOnly = value
        default: throw APIError.badRequest("bearerOnly must be true or false")
        }
        let issued = try await issue(role: role, gateway: gateway, bearerOnly: bearerOnly)
        var reply = tokenSummary(issued.record)
        reply.appendUnique(key: "token", value: .string(issued.token))
        reply.appendUnique(key: "accessKeyId", value: .string(issued.id))
        if !bearerOnly { reply.appendUnique(key: "secretAccessKey", value: .string(issued.secret)) }
        return json(.object(reply), status: .created)
    }

    /// `GET /admin/tokens`, without secrets.
    func listTokens(_ request: Request, _ context: Context) async throws -> Response {
        let tokens = try await registryCall { try await registry.tokens() }
        return json(["tokens": .array(tokens.map { .object(tokenSummary($0)) })])
    }

    /// `DELETE /admin/tokens/{id}`: revokes the token at once.
    func revokeToken(_ request: Request, _ context: Context) async throws -> Response {
        let id = try context.parameter("id")
        guard try await registryCall({ try await registry.removeToken(id: id) }) else {
            throw APIError.notFound("No token with this id")
        }
        authenticator.cache.remove(id: id)
        return json(["id": .string(id), "deleted": true])
    }

    private func issue(role: TokenRole, gateway: String?, bearerOnly: Bool = false) async throws
        -> TokenVault.IssuedToken
    {
        let issued = try vault.issue(
            role: role, gateway: gateway, createdAt: configuration.clock.seconds(), bearerOnly: bearerOnly)
        try await registryCall { try await registry.addToken(issued.record) }
        logger.info("token issued", metadata: ["token.id": "\(issued.id)", "token.role": "\(role.rawValue)"])
        return issued
    }

    /// A token without its secret or hash.
    private func tokenSummary(_ record: TokenRecord) -> JSONObject {
        var summary = JSONObject()
        summary.appendUnique(key: "id", value: .string(record.id))
        summary.appendUnique(key: "role", value: .string(record.role.rawValue))
        summary.appendUnique(key: "gateway", value: record.gateway.map(Value.string) ?? .null)
        summary.appendUnique(key: "createdAt", value: .int(record.createdAt))
        summary.appendUnique(key: "bearerOnly", value: .bool(record.sealedSecret.isEmpty))
        return summary
    }

    private func requireGateway(_ name: String) async throws(APIError) {
        let known = try await registryCall { try await registry.gateways().contains { $0.name == name } }
        guard known else { throw APIError.notFound("No gateway with this name") }
    }

    private func object(_ body: [UInt8]) throws(APIError) -> JSONObject {
        guard case .object(let object)? = try? JSONParser.parse(body) else {
            throw APIError.badRequest("The body must be a JSON object")
        }
        return object
    }

    private func stringField(_ name: String, in object: JSONObject) throws(APIError) -> String {
        guard case .string(let value)? = object[name] else {
            throw APIError.badRequest("Missing string field '\(name)'")
        }
        return value
    }
}
