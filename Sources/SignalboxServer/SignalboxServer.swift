import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import Prometheus
import SignalboxCore
import SignalboxLambdaHost
import SignalboxRuntime
import SignalboxShadows

/// Builds the Signalbox HTTP server: a Hummingbird `Application`, which is a ServiceLifecycle
/// `Service`.
///
/// For example:
/// ```swift
/// let server = SignalboxServer(
///     configuration: ServerConfiguration(port: 0), shadows: service, registry: registry, vault: vault,
///     logger: logger)
/// let app = try await server.makeApplication { port in print("listening on \(port)") }
/// try await ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint],
///     logger: logger)).run()
/// ```
package struct SignalboxServer: Sendable {
    /// Why the server refuses to start.
    package struct StartupError: Error, Sendable, CustomStringConvertible {
        /// What is wrong and how to fix it.
        package var description: String
    }

    /// Listener settings.
    package let configuration: ServerConfiguration
    /// The shadow service the HTTP API drives.
    package let shadows: ShadowService
    /// Gateways, tokens and device bindings.
    package let registry: any IdentityRegistry
    /// Token secrets.
    package let vault: TokenVault
    /// Where published messages go; nil answers the publish endpoints with 503.
    package let ingest: (any MessageIngest)?
    /// The running rules, for the rules and dead-letter admin endpoints; nil answers them with 503.
    package let rules: (any RulesControl)?
    /// The persisted records, for `/records`; nil answers it with 503.
    package let records: (any RecordStorage)?
    /// The deployed functions, for the Lambda API; nil answers it with 503.
    package let functions: FunctionHost?
    /// The registry `GET /metrics` shows and the HTTP metrics are kept in.
    package let metrics: PrometheusCollectorRegistry
    /// `/readyz` state.
    package let readiness = Readiness()
    /// The connections the listener has open.
    package let connections = ConnectionCount()
    private let logger: Logger

    /// Creates the server; nothing starts until the application runs.
    ///
    /// - Parameters:
    ///   - ingest: Where published messages go (the rules runtime); nil until it runs.
    ///   - rules: The running rules (status, reload, test, dead letters).
    ///   - records: The tables `persist` writes.
    ///   - functions: The deployed functions (the Lambda API).
    ///   - metrics: The Prometheus registry; by default the process-wide one of ``MetricsBootstrap``,
    ///     which also holds every swift-metrics metric.
    package init(
        configuration: ServerConfiguration, shadows: ShadowService, registry: any IdentityRegistry,
        vault: TokenVault, ingest: (any MessageIngest)? = nil, rules: (any RulesControl)? = nil,
        records: (any RecordStorage)? = nil, functions: FunctionHost? = nil,
        metrics: PrometheusCollectorRegistry = MetricsBootstrap.registry,
        logger: Logger = Logger(label: "signalbox.http")
    ) {
        self.configuration = configuration
        self.shadows = shadows
        self.registry = registry
        self.vault = vault
        self.ingest = ingest
        self.rules = rules
        self.records = records
        self.functions = functions
        self.metrics = metrics
        self.logger = logger
    }

    /// The HTTP application's type.
    package typealias HTTPApplication = Application<RouterResponder<SignalboxRequestContext>>

    /// The HTTP API, without a listener.
    package var api: SignalboxAPI {
        var runtime = RuntimeDependencies(
            ingest: ingest, rules: rules, records: records, metrics: metrics,
            maxConcurrentIngests: configuration.maxConcurrentIngests,
            maxConcurrentIngestsPerPrincipal: configuration.maxConcurrentIngestsPerPrincipal)
        runtime.functions = functions
        return SignalboxAPI(
            configuration: configuration, shadows: shadows, registry: registry, vault: vault, runtime: runtime,
            readiness: readiness, logger: logger)
    }

    /// The application to run.
    ///
    /// - Parameter onServerRunning: Called with the bound port once the listener is up (useful with port 0).
    /// - Throws: ``StartupError`` when the host is not loopback and no admin token exists, when a
    ///   gateway topic filter is invalid, or when the TLS files cannot be loaded.
    package func makeApplication(
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) async throws -> HTTPApplication {
        do {
            _ = try PublishScope(filters: configuration.gatewayTopicFilters, gateway: "gateway")
        } catch {
            throw StartupError(description: "invalid gateway topic filter: \(error.message)")
        }
        // MQTT messages are tied to their gateway by the `{gateway}` level of these filters.
        for filter in configuration.gatewayTopicFilters
        where !filter.split(separator: "/", omittingEmptySubsequences: false).contains(where: {
            $0 == PublishScope.placeholder
        }) {
            throw StartupError(
                description:
                    "invalid gateway topic filter '\(filter)': it must have \(PublishScope.placeholder) as a whole level, "
                    + "like gateways/\(PublishScope.placeholder)/#")
        }
        if !configuration.isLoopback {
            let configured: Bool
            do {
                configured = try await registry.hasAdminToken()
            } catch {
                throw StartupError(description: "cannot read the identity registry: \(error)")
            }
            guard configured else {
                throw StartupError(
                    description:
                        "refusing to listen on non-loopback address '\(configuration.host)' without authentication: "
                        + "create an admin token first (signalbox tokens create --admin) or bind to 127.0.0.1")
            }
        }
        let readiness = self.readiness
        let logger = self.logger
        return Application(
            router: api.router(),
            server: try serverBuilder(),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "Signalbox"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                readiness.set(true)
                logger.info("http listener up", metadata: ["http.port": "\(port)"])
                await onServerRunning(port)
            },
            logger: logger
        )
    }

    private func serverBuilder() throws -> HTTPServerBuilder {
        let http1 = HTTPServerBuilder.guardedHTTP1(limits: configuration.listener, count: connections)
        guard let tls = configuration.tls else { return http1 }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map {
                NIOSSLCertificateSource.certificate($0)
            }
            let key = try NIOSSLPrivateKey(file: tls.keyPath, format: .pem)
            let tlsConfiguration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain, privateKey: .privateKey(key))
            return try .tls(http1, tlsConfiguration: tlsConfiguration)
        } catch {
            throw StartupError(
                description:
                    "cannot load the TLS certificate '\(tls.certificatePath)' or key '\(tls.keyPath)': \(error)")
        }
    }
}
