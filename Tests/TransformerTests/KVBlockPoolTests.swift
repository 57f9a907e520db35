import XCTest
@testable import Transformer

/// The KV block pool: blocks handed out on demand under a budget, prompt blocks shared by
/// prefix, least recently used cached blocks evicted first, shared blocks never written.
final class KVBlockPoolTests: XCTestCase {
    func makePool(blocks: Int) throws -> KVBlockPool {
        try XCTUnwrap(KVBlockPool(layers: 2, keyWidth: 8, valueWidth: 8, blockCount: blocks, blockSize: 4))
    }

    func testBlocksAreTakenAsSequencesGrowAndFreedOnRelease() throws {
        let pool = try makePool(blocks: 3)
        let a = KVCache(pool: pool, capacity: 100)
        XCTAssertEqual(pool.usedBlocks, 0, "an empty sequence holds no memory")
        XCTAssertTrue(try a.append([1, 2, 3, 4, 5], asPrompt: true))
        XCTAssertEqual(a.blockCount, 2)
        let b = KVCache(pool: pool, capacity: 100)
        XCTAssertFalse(try b.append(Array(repeating: 7, count: 5), asPrompt: true), "5 positions need 2 blocks; 1 is left")
        XCTAssertEqual(b.count, 0, "a refused append changes nothing")
        XCTAssertTrue(try b.append([7, 7, 7], asPrompt: true))
        XCTAssertEqual(pool.availableBlocks, 0)
        a.releaseAll()
        XCTAssertEqual(pool.availableBlocks, 2)
        XCTAssertThrowsError(try b.append(Array(repeating: 1, count: 98), asPrompt: true), "past the sequence's capacity")
    }

    func testFullPromptBlocksAreSharedByPrefix() throws {
        let pool = try makePool(blocks: 8)
        let prompt: [Int32] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        let a = KVCache(pool: pool, capacity: 64)
        XCTAssertTrue(try a.append(prompt, asPrompt: true))
        a.key(layer: 1, position: 5).storeBytes(of: 0x1234, as: UInt16.self)
        a.publishPromptBlocks()
        let b = KVCache(pool: pool, capacity: 64)
        XCTAssertEqual(b.attachCachedPrefix(of: prompt + [11], limit: prompt.count), 8, "two full blocks are shared")
        XCTAssertEqual(b.key(layer: 1, position: 5).load(as: UInt16.self), 0x1234, "the same memory")
        XCTAssertEqual(pool.usedBlocks, 3)
        let c = KVCache(pool: pool, capacity: 64)
        XCTAssertEqual(c.attachCachedPrefix(of: [1, 2, 3, 4, 9, 9, 9, 9], limit: 8), 4, "the prefix key chains: block 2 differs")
        let d = KVCache(pool: pool, capacity: 64)
        XCTAssertEqual(d.attachCachedPrefix(of: [9, 2, 3, 4, 5, 6, 7, 8], limit: 8), 0)
    }

    func testDecodeRowsNeverEnterThePrefixCache() throws {
        let pool = try makePool(blocks: 8)
        let a = KVCache(pool: pool, capacity: 64)
        XCTAssertTrue(try a.append([1, 2, 3, 4, 5, 6], asPrompt: true))
        XCTAssertTrue(try a.append([7, 8], asPrompt: false))
        a.publishPromptBlocks()
        let b = KVCache(pool: pool, capacity: 64)
        XCTAssertEqual(b.attachCachedPrefix(of: [1, 2, 3, 4, 5, 6, 7, 8, 9], limit: 8), 4, "block 2 holds decode rows")
    }

    func testIdleCachedBlocksAreEvictedLeastRecentlyUsedFirst() throws {
        let pool = try makePool(blocks: 3)
        for first: Int32 in [10, 20, 30] {
            let s = KVCache(pool: pool, capacity: 64)
            XCTAssertTrue(try s.append([first, 1, 2, 3], asPrompt: true))
            s.publishPromptBlocks()
            s.releaseAll()
        }
        XCTAssertEqual(pool.cachedBlocks, 3)
        XCTAssertEqual(pool.availableBlocks, 3, "idle cached blocks can be taken back")
        let touch = KVCache(pool: pool, capacity: 64)
        XCTAssertEqual(touch.attachCachedPrefix(of: [10, 1, 2, 3, 0], limit: 4), 4)
        touch.releaseAll()   // [10 …] is now the most recently used
        let s = KVCache(pool: pool, capacity: 64)
        XCTAssertTrue(try s.append([1, 1, 1, 1], asPrompt: false))   // evicts [20 …], the least recently used
        let probe = KVCache(pool: pool, capacity: 64)
        XCTAssertEqual(probe.attachCachedPrefix(of: [20, 1, 2, 3, 0], limit: 4), 0)
        XCTAssertEqual(probe.attachCachedPrefix(of: [10, 1, 2, 3, 0], limit: 4), 4)
    }

    func testTruncatingIntoASharedBlockCopiesIt() throws {
        let pool = try makePool(blocks: 8)
        let a = KVCache(pool: pool, capacity: 64)
        XCTAssertTrue(try a.append([1, 2, 3, 4, 5], asPrompt: true))
        a.key(layer: 0, position: 1).storeBytes(of: 0xabcd, as: UInt16.self)
        a.publishPromptBlocks()
        XCTAssertEqual(a.truncate(to: 2), 2)
        XCTAssertEqual(a.key(layer: 0, position: 1).load(as: UInt16.self), 0xabcd, "the kept part was copied")
        a.key(layer: 0, position: 2).storeBytes(of: 0x5555, as: UInt16.self)
        let b = KVCache(pool: pool, capacity: 64)
        XCTAssertEqual(b.attachCachedPrefix(of: [1, 2, 3, 4, 5], limit: 4), 4)
        XCTAssertNotEqual(b.key(layer: 0, position: 2).load(as: UInt16.self), 0x5555, "the cached block was not written")
    }
}
