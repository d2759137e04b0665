import ArgumentParser
import SignalboxCore
import SignalboxSQL
import SignalboxStore

/// `signalbox gateways …`: gateways, their tokens and the devices bound to them.
struct Gateways: AsyncParsableCommand {
    /// The command's help and subcommands.
    static let configuration = CommandConfiguration(
        abstract: "Manage gateways and the devices bound to them.",
        subcommands: [Add.self, List.self, Remove.self, Bind.self, Unbind.self, Devices.self]
    )

    /// `signalbox gateways add NAME`: adds a gateway and prints its first token, once.
    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a gateway and print its token (shown once).")
        @OptionGroup var options: DataOptions
        @Argument(help: "The gateway's name ([a-zA-Z0-9:_-], 1-128 characters).") var name: String
        @Flag(help: "Keep only a hash of the token's secret: a bearer token that cannot sign AWS SigV4 requests.")
        var bearerOnly = false

        func run() async throws {
            let registry = try options.openRegistry()
            let vault = try options.openVault()
            let now = WallClock.system.seconds()
            do {
                try await registry.addGateway(Gateway(name: name, createdAt: now))
            } catch let error as IdentityError {
                throw ValidationError(error.description)
            }
            let issued = try vault.issue(role: .gateway, gateway: name, createdAt: now, bearerOnly: bearerOnly)
            try await registry.addToken(issued.record)
            printIssued(issued, heading: "Added gateway '\(name)'.")
        }
    }

    /// `signalbox gateways list`.
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List gateways with their device counts.")
        @OptionGroup var options: DataOptions

        func run() async throws {
            let registry = try options.openRegistry()
            for gateway in try await registry.gateways() {
                let devices = try await registry.things(of: gateway.name).count
                print("\(gateway.name)\t\(devices) device\(devices == 1 ? "" : "s")")
            }
        }
    }

    /// `signalbox gateways remove NAME`.
    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a gateway, revoking its tokens and unbinding its devices.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The gateway's name.") var name: String

        func run() async throws {
            let registry = try options.openRegistry()
            guard try await registry.removeGateway(name) else { throw ValidationError("no gateway named '\(name)'") }
            print("Removed gateway '\(name)'.")
        }
    }

    /// `signalbox gateways bind NAME THING…`.
    struct Bind: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Bind devices (things) to a gateway.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The gateway's name.") var name: String
        @Argument(help: "The things to bind.") var things: [String]

        func run() async throws {
            let registry = try options.openRegistry()
            for thing in things {
                guard ShadowKey.isValid(thing, allowingDollar: false, maxLength: 128) else {
                    throw ValidationError("invalid thing name '\(thing)'")
                }
                do {
                    try await registry.bind(thing: thing, to: name)
                } catch let error as IdentityError {
                    throw ValidationError(error.description)
                }
            }
            print("Bound \(things.count) device\(things.count == 1 ? "" : "s") to '\(name)'.")
        }
    }

    /// `signalbox gateways unbind THING…`.
    struct Unbind: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unbind devices (things) from their gateway.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The things to unbind.") var things: [String]

        func run() async throws {
            let registry = try options.openRegistry()
            var count = 0
            for thing in things where try await registry.unbind(thing: thing) { count += 1 }
            print("Unbound \(count) device\(count == 1 ? "" : "s").")
        }
    }

    /// `signalbox gateways devices NAME`.
    struct Devices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the devices bound to a gateway.")
        @OptionGroup var options: DataOptions
        @Argument(help: "The gateway's name.") var name: String

        func run() async throws {
            let registry = try options.openRegistry()
            for thing in try await registry.things(of: name) { print(thing) }
        }
    }
}
