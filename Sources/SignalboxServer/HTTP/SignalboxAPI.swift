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

/// The Signalbox HTTP API: shadows, gateway sync, ingest and admin endpoints, with authentication,
/// access rules and AWS-shaped errors, on Hummingbird's router.
///
/// The router matches the raw (percent-encoded) path, whose parameters are then decoded, so
/// `/things/my%3Athing/shadow?name=%24config` addresses thing `my:thing`, shadow `$config`, and
/// `/things/a%2Fb/shadow` thing `a/b`.
///
/// Every request passes ``ErrorMiddleware`` (AWS-shaped errors) and ``TargetMiddleware`` (a
/// malformed target is a 400). `/healthz`, `/readyz` and, when configured so, `/metrics` need no
/// credentials; every other path, known or not, passes ``AuthenticationMiddleware`` first, so an
/// unauthenticated caller learns nothing of which paths exist (401 before 404). Each area's routes
/// are one `RouteCollection` (`SignalboxAPI+<Area>.swift`), with ``AdminMiddleware``,
/// ``IngestGateMiddleware`` and ``BodyMiddleware`` (the area's body limit) where they apply. A known
/// path answers 405 to a method it does not take.
package struct SignalboxAPI: Sendable {
    package typealias Context = SignalboxRequestContext

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

    /// Creates the API.
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

    /// The router: public routes, then authentication, then each area's routes.
    package func router() -> Router<Context> {
        let router = Router(context: Context.self)
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.add(middleware: TargetMiddleware())
        router.addRoutes(publicRoutes())
        router.add(middleware: AuthenticationMiddleware(authenticator: authenticator, prover: defaultBody))
        router.addRoutes(shadowRoutes())
        router.addRoutes(ingestRoutes())
        router.addRoutes(identityRoutes())
        router.addRoutes(operationRoutes())
        router.addRoutes(functionRoutes())
        return router
    }

    /// `/healthz`, `/readyz`, and `/metrics` when ``ServerConfiguration/publicMetrics`` makes it public.
    private func publicRoutes() -> RouteCollection<Context> {
        let routes = RouteCollection(context: Context.self)
        routes.resource("/healthz", [.get: { _, _ in json(["status": "ok"]) }])
        routes.resource(
            "/readyz",
            [
                .get: { _, _ in
                    guard readiness.isReady else { throw APIError.unavailable }
                    return json(["status": "ready"])
                }
            ])
        if configuration.publicMetrics {
            routes.resource("/metrics", [.get: { _, _ in metricsResponse() }])
        }
        return routes
    }

    /// The body of most routes: at most ``ServerConfiguration/maxBodyBytes``, unverified ones in the
    /// ingest gate's share for them.
    var defaultBody: BodyMiddleware {
        BodyMiddleware(
            limit: BodyLimit(bytes: configuration.maxBodyBytes, error: .payloadTooLarge), gate: runtime.ingestGate)
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
