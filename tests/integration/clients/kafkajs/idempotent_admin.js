// kafkajs against the broker: an idempotent producer (InitProducerId sent to
// the controller), then admin fetchTopicMetadata and fetchTopicOffsets.
//
// usage: node idempotent_admin.js <bootstrap> <topic> <partitions> <batches>
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, topic, partitionsArg, batchesArg] = process.argv.slice(2)
const partitions = Number(partitionsArg)
const batches = Number(batchesArg)
const perBatch = 10

function fail(message) {
  console.error(message)
  process.exit(1)
}

async function main() {
  const kafka = new Kafka({
    clientId: 'kb-kafkajs',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 5, initialRetryTime: 100 },
  })

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  // Records of one send land back to back in each partition: each partition's
  // base offset is the number of records it had before.
  const next = new Array(partitions).fill(0)
  for (let b = 0; b < batches; b++) {
    const messages = []
    for (let i = 0; i < perBatch; i++) {
      const n = b * perBatch + i
      messages.push({ key: `k${n}`, value: `m-${n}`, partition: n % partitions })
    }
    const results = await producer.send({ topic, acks: -1, messages })
    for (const r of results) {
      if (r.errorCode !== 0) fail(`send: error ${r.errorCode} on partition ${r.partition}`)
      if (Number(r.baseOffset) !== next[r.partition])
        fail(`send: partition ${r.partition} base offset ${r.baseOffset}, not ${next[r.partition]}`)
    }
    for (const m of messages) next[m.partition]++
  }
  await producer.disconnect()

  const admin = kafka.admin()
  await admin.connect()
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
  const described = metadata.topics.find((t) => t.name === topic)
  if (!described) fail(`fetchTopicMetadata: ${topic} missing: ${JSON.stringify(metadata)}`)
  if (described.partitions.length !== partitions)
    fail(`fetchTopicMetadata: ${described.partitions.length} partitions`)
  for (const p of described.partitions) {
    if (p.partitionErrorCode !== 0 || p.leader < 0 || p.replicas.length !== 1)
      fail(`fetchTopicMetadata: partition ${JSON.stringify(p)}`)
  }

  const offsets = await admin.fetchTopicOffsets(topic)
  if (offsets.length !== partitions) fail(`fetchTopicOffsets: ${JSON.stringify(offsets)}`)
  let total = 0
  for (const o of offsets) {
    if (Number(o.low) !== 0 || o.offset !== o.high)
      fail(`fetchTopicOffsets: ${JSON.stringify(o)}`)
    total += Number(o.high)
  }
  if (total !== batches * perBatch) fail(`fetchTopicOffsets: ${total} records in all`)
  const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, 0)
  if (byTime.some((o) => Number(o.offset) !== 0))
    fail(`fetchTopicOffsetsByTimestamp: ${JSON.stringify(byTime)}`)
  await admin.disconnect()
  console.log(`ok ${total} records over ${partitions} partitions`)
}

main().catch((e) => fail(`kafkajs: ${e.stack || e}`))
