import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SignalboxConfig
import SignalboxCore
import SignalboxServer
import SignalboxStore

/// `signalbox serve`: the shadow service and HTTP API over the data directory.
struct Serve: AsyncParsableCommand {
    /// The command's help.
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API (device shadows, gateway sync, admin) over the data directory.",
        discussion: """
            Listens on 127.0.0.1:8080 by default. Every request except /healthz and /readyz needs a token \
            (create one with 'signalbox tokens create --admin' or 'signalbox gateways add NAME'); when no \
            admin token exists and the address is loopback, one is created and printed once. Binding to \
            a non-loopback address without an admin token is refused. Prints 'listening on URL' once the \
            listener is up.
            """
    )

    @OptionGroup var options: DataOptions

    @Option(help: "The rules file, checked at startup.")
    var rules: String = "rules.yaml"

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one.")
    var port: Int = 8080

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain file; with --tls-key, serves HTTPS.")
    var tlsCertificate: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key file.")
    var tlsKey: String?

    @Flag(help: "Bind a thing to the first gateway that touches it, when it is bound to none.")
    var autoBindDevices = false

    @Option(help: "Largest desired+reported state of a shadow, in bytes of compact JSON.")
    var shadowMaxStateBytes: Int = ShadowLimits().maxStateBytes

    @Option(help: "Deepest nesting inside desired or reported (the section counts as level 1).")
    var shadowMaxDepth: Int = ShadowLimits().maxDepth

    @Option(help: "Largest shadow request body, in bytes.")
    var shadowMaxRequestBytes: Int = ShadowLimits().maxRequestBytes

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard (tlsCertificate == nil) == (tlsKey == nil) else {
            throw ValidationError("give both --tls-cert and --tls-key, or neither")
        }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard shadowMaxStateBytes > 0, shadowMaxDepth > 0, shadowMaxRequestBytes > 0 else {
            throw ValidationError("shadow limits must be positive")
        }
    }

    func run() async throws {
        let logLevel = self.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let logger = Logger(label: "signalbox")

        let (summary, isValid) = RulesLoader().check(path: rules)
        guard isValid else {
            print(summary, terminator: "")
            throw ExitCode(1)
        }
        logger.info("rules checked", metadata: ["rules.file": "\(rules)"])

        let database = try options.openDatabase()
        let vault = try options.openVault()
        let registry = SQLiteIdentityRegistry(database: database)
        let storage = SQLiteShadowStorage(database: database)
        let limits = ShadowLimits(
            maxStateBytes: shadowMaxStateBytes, maxDepth: shadowMaxDepth, maxRequestBytes: shadowMaxRequestBytes)
        let shadows = ShadowService(
            storage: storage, limits: limits, signal: ChangeSignal(sequence: try await storage.latestSequence()),
            logger: Logger(label: "signalbox.shadows"))

        var configuration = ServerConfiguration(
            host: host, port: port, limits: limits, autoBindDevices: autoBindDevices)
        if let tlsCertificate, let tlsKey {
            configuration.tls = ServerConfiguration.TLS(certificatePath: tlsCertificate, keyPath: tlsKey)
        }
        if configuration.isLoopback, try await !registry.hasAdminToken() {
            let issued = try vault.issue(role: .admin, gateway: nil, createdAt: ShadowService.systemClock())
            try await registry.addToken(issued.record)
            printIssued(issued, heading: "No admin token existed, so one was created.")
        }

        let server = SignalboxServer(
            configuration: configuration, shadows: shadows, registry: registry, vault: vault,
            logger: Logger(label: "signalbox.http"))
        let scheme = configuration.tls == nil ? "http" : "https"
        let host = self.host
        let app: Application<SignalboxResponder>
        do {
            app = try await server.makeApplication { port in
                print("listening on \(scheme)://\(host):\(port)")
                fflush(nil)  // flush every stream: the line is what scripts wait for
            }
        } catch let error as SignalboxServer.StartupError {
            throw ValidationError(error.description)
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: ChangeLogCompactor(storage: storage, logger: Logger(label: "signalbox.store"))),
                    .init(service: app),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
