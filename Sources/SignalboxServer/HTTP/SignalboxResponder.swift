import Hummingbird
import Logging
import NIOCore
import SignalboxCore
import SignalboxJSON
import SignalboxShadows
import Synchronization

/// Whether the server is accepting requests, for `/readyz`.
package final class Readiness: Sendable {
    private let ready = Mutex(false)

    /// Creates a not-yet-ready state.
    package init() {}

    /// Whether the listener is up.
    package var isReady: Bool { ready.withLock { $0 } }

    /// Marks the listener up or down.
    package func set(_ value: Bool) { ready.withLock { $0 = value } }
}

/// The Signalbox HTTP API: shadows, gateway sync and admin endpoints, with authentication, access
/// rules and AWS-shaped errors.
///
/// Routes match on the raw (percent-encoded) path, whose segments are then decoded, so
/// `/things/my%3Athing/shadow?name=%24config` addresses thing `my:thing`, shadow `$config`.
package struct SignalboxResponder: HTTPResponder {
    package typealias Context = BasicRequestContext

    let configuration: ServerConfiguration
    let shadows: ShadowService
    let registry: any IdentityRegistry
    let vault: TokenVault
    let runtime: RuntimeDependencies
    let authenticator: Authenticator
    /// Which devices each gateway may publish for.
    let bindings: DeviceBindings
    let readiness: Readiness
    let logger: Logger

    /// Creates the responder.
    package init(
        configuration: ServerConfiguration, shadows: ShadowService, registry: any IdentityRegistry,
        vault: TokenVault, runtime: RuntimeDependencies = RuntimeDependencies(), readiness: Readiness, logger: Logger
    ) {
        self.configuration = configuration
        self.shadows = shadows
        self.registry = registry
        self.vault = vault
        self.runtime = runtime
        let skew = configuration.maxClockSkew.components.seconds
        self.authenticator = Authenticator(
            registry: registry, vault: vault, maxSkewSeconds: skew,
            clock: { [clock = configuration.clock] in clock.seconds() }, logger: logger)
        self.bindings = DeviceBindings(registry: registry, autoBind: configuration.autoBindDevices, logger: logger)
        self.readiness = readiness
        self.logger = logger
    }

    package func respond(to request: Request, context: Context) async throws -> Response {
        let response: Response
        do {
            response = try await handle(request)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            logger.error("request failed", metadata: ["error.type": "\(type(of: error))"])
            response = APIError.internalFailure.response
        }
        logger.debug(
            "request handled",
            metadata: ["http.method": "\(request.method.rawValue)", "http.status": "\(response.status.code)"])
        return response
    }

    private func handle(_ request: Request) async throws -> Response {
        let target = try RequestTarget(request.head.path ?? "/")
        let route = Route(segments: target.segments)
        if let route, route.isPublic {
            guard route.methods.contains(request.method) else { throw APIError.methodNotAllowed }
            switch route {
            case .ready:
                guard readiness.isReady else { throw APIError.unavailable }
                return json(["status": "ready"])
            default:
                return json(["status": "ok"])
            }
        }
        if route == .metrics && configuration.publicMetrics {
            guard route?.methods.contains(request.method) == true else { throw APIError.methodNotAllowed }
            return metricsResponse()
        }
        guard request.headers[.authorization] != nil else {
            throw APIError.unauthorized("Missing Authorization header")
        }
        // Credentials are checked from the headers before anything costly: before a publish takes a
        // place in the ingest gate and before any body is read.
        let credentials = try await authenticator.authenticateHeaders(
            AuthenticationRequest(
                method: request.method.rawValue, rawPath: target.rawPath, rawQuery: target.rawQuery,
                headers: headerMap(request), body: []))
        // A publish enters the ingest gate before its body is read, so at most the gate's limit of
        // publish bodies are in memory at once (and one principal's share of them); one that would be
        // refused is refused unread, and its body is discarded as it arrives.
        var entered: IngestGate.Share?
        switch route {
        case .publish, .gatewayMessages:
            let share: IngestGate.Share = credentials.isProven ? .principal(credentials.principal) : .unverified
            guard runtime.ingest?.isFull != true, runtime.ingestGate.enter(share) else {
                throw overloaded(retryAfter: 1)
            }
            entered = share
        default: break
        }
        defer { if let entered { runtime.ingestGate.leave(entered) } }
        let body: [UInt8]
        do {
            body = try await collectBody(request, limit: bodyLimit(route))
        } catch {
            switch route {
            case .publish, .gatewayMessages:
                if error.status == .contentTooLarge { runtime.ingestMetrics.rejected(.tooLarge) }
            default: break
            }
            throw error
        }
        try credentials.verify(body: body)
        let principal = credentials.principal
        guard let route else {
            throw APIError.notFound("No endpoint at this path (\(request.method.rawValue))")
        }
        guard route.methods.contains(request.method) else { throw APIError.methodNotAllowed }
        if route.isAdmin {
            guard principal == .admin else { throw APIError.forbidden }
            switch route {
            case .recordTables, .records, .adminRules, .adminRulesReload, .adminRulesTest, .adminDeadLetters,
                .adminDeadLetter, .adminDeadLetterRetry, .adminThrottles, .metrics:
                return try await operations(route, method: request.method, query: target.query, body: body)
            default:
                return try await admin(route, method: request.method, query: target.query, body: body)
            }
        }
        switch route {
        case .publish(let topic):
            return try await publish(topic: topic, query: target.query, body: body, principal)
        case .gatewayMessages(let gateway):
            return try await publishBatch(
                gateway: gateway, query: target.query, contentType: request.headers[.contentType], body: body,
                principal)
        case .shadow(let thing):
            return try await shadow(thing: thing, method: request.method, query: target.query, body: body, principal)
        case .listNamedShadows(let thing):
            return try await listNamedShadows(thing: thing, query: target.query, principal)
        case .sync(let gateway):
            return try await sync(gateway: gateway, query: target.query, principal)
        default:
            throw APIError.notFound("No endpoint at this path (\(request.method.rawValue))")
        }
    }

    /// The body, at most `limit.bytes` of it; a larger one is answered with `limit.error`.
    private func collectBody(_ request: Request, limit: (bytes: Int, error: APIError)) async throws(APIError)
        -> [UInt8]
    {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit.bytes {
            throw limit.error
        }
        do {
            let buffer = try await request.body.collect(upTo: limit.bytes)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw limit.error
        } catch {
            throw APIError.badRequest("The request body could not be read")
        }
    }

    /// The largest body `route` takes and the error for a larger one: a message payload for publish,
    /// a batch for the batch endpoint, ``ServerConfiguration/maxBodyBytes`` for the rest.
    private func bodyLimit(_ route: Route?) -> (bytes: Int, error: APIError) {
        switch route {
        case .publish:
            let limit = configuration.maxPayloadBytes
            return (limit, .tooLarge("The payload exceeds the maximum size allowed (\(limit) bytes)"))
        case .gatewayMessages:
            let limit = configuration.maxBatchBytes
            return (limit, .tooLarge("The batch exceeds the maximum size allowed (\(limit) bytes)"))
        case .adminRulesTest:
            // A payload of the largest size, base64-encoded, inside the request object.
            let limit = max(configuration.maxBodyBytes, configuration.maxPayloadBytes * 2)
            return (limit, .tooLarge("The request exceeds the maximum size allowed (\(limit) bytes)"))
        default:
            return (configuration.maxBodyBytes, .payloadTooLarge)
        }
    }

    private func headerMap(_ request: Request) -> [String: [String]] {
        var headers: [String: [String]] = [:]
        for field in request.headers {
            headers[field.name.canonicalName.lowercased(), default: []].append(field.value)
        }
        if headers["host"] == nil, let authority = request.head.authority {
            headers["host"] = [authority]
        }
        return headers
    }

    /// A JSON response.
    func json(_ value: Value, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(
            status: status, headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONSerializer.bytes(value))))
    }

    /// Runs a registry call, mapping its errors to HTTP.
    func registryCall<T>(_ operation: () async throws -> T) async throws(APIError) -> T {
        do {
            return try await operation()
        } catch let error as IdentityError {
            throw APIError(error)
        } catch let error as APIError {
            throw error
        } catch {
            logger.error("identity registry failed", metadata: ["error.type": "\(type(of: error))"])
            throw APIError.internalFailure
        }
    }
}
