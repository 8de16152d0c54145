// kafkajs consumer group against the broker: produce <count> messages
// <prefix>1..<prefix><count>, then a consumer of <group> (`run` with
// autoCommit, from the beginning when the group has no offsets) consumes until
// it has <expect> messages, waits a moment for any extra ones, and disconnects,
// which commits and leaves the group. Prints "got <value>" per message
// consumed, then "committed <sum>": the group's committed offsets over the
// topic's partitions, read back with the admin client.
//
// usage: node group_consumer.js <bootstrap> <topic> <group> <prefix> <count> <expect>
'use strict'

const { Kafka, Partitioners, logLevel } = require('kafkajs')

const [bootstrap, topic, groupId, prefix, countArg, expectArg] = process.argv.slice(2)
const count = Number(countArg)
const expect = Number(expectArg)
// How long the consumer goes on after <expect> messages, to catch extra ones.
const lingerMs = 1000
const consumeTimeoutMs = 30000

function fail(message) {
  console.error(message)
  process.exit(1)
}

async function main() {
  const kafka = new Kafka({
    clientId: 'kb-kafkajs-group',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 5, initialRetryTime: 100 },
  })

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  const messages = []
  for (let i = 1; i <= count; i++) messages.push({ key: `k${i}`, value: `${prefix}${i}` })
  const results = await producer.send({ topic, acks: -1, messages })
  for (const r of results)
    if (r.errorCode !== 0) fail(`send: error ${r.errorCode} on partition ${r.partition}`)
  await producer.disconnect()

  // The broker's group.min.session.timeout.ms is Kafka's 6000; a short
  // heartbeat interval and fetch wait keep the run quick.
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout: 6000,
    rebalanceTimeout: 6000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const received = []
  let enough
  const gotEnough = new Promise((resolve) => (enough = resolve))
  await consumer.run({
    autoCommit: true,
    eachMessage: async ({ message }) => {
      received.push(message.value.toString())
      if (received.length >= expect) enough()
    },
  })
  const timer = setTimeout(enough, consumeTimeoutMs)
  await gotEnough
  clearTimeout(timer)
  await new Promise((resolve) => setTimeout(resolve, lingerMs))
  await consumer.disconnect()
  for (const value of received) console.log(`got ${value}`)

  const admin = kafka.admin()
  await admin.connect()
  const offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  await admin.disconnect()
  let committed = 0
  for (const t of offsets)
    for (const p of t.partitions) if (Number(p.offset) > 0) committed += Number(p.offset)
  console.log(`committed ${committed}`)
}

main().catch((e) => fail(`kafkajs: ${e.stack || e}`))
