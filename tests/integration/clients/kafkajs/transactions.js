// kafkajs transactions: committed and aborted transactions of records and of
// a group's offsets (sendOffsets), read back by a read_committed consumer.
//
// usage: node transactions.js <bootstrap> <prefix>
//
// Five transactions of ten records each are committed, each with the group
// <prefix>-group's offset of <prefix>-in partition 0 moved on by ten; after
// the second and the fourth an aborted one writes "aborted-*" records and an
// offset of 999. A kafkajs consumer (read_committed, its default) then reads
// <prefix>-out from the beginning: exactly the 50 committed records, no
// aborted one; the group's committed offset is 50. Prints
// "ok 50 committed records, 2 aborted transactions, offset 50".
'use strict'

const { Kafka, logLevel } = require('kafkajs')

const [bootstrap, prefix] = process.argv.slice(2)
const input = `${prefix}-in`
const output = `${prefix}-out`
const group = `${prefix}-group`

function fail(message) {
  console.error(message)
  process.exit(1)
}

async function main() {
  const kafka = new Kafka({
    clientId: 'kb-kafkajs-txn',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 8, initialRetryTime: 100 },
  })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    topics: [
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 2 },
    ],
  })

  const producer = kafka.producer({
    transactionalId: `${prefix}-txn`,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  await producer.connect()
  let aborted = 0
  for (let t = 0; t < 5; t++) {
    const txn = await producer.transaction()
    const messages = []
    for (let i = 0; i < 10; i++) messages.push({ key: `k${t * 10 + i}`, value: `committed-${t * 10 + i}` })
    await txn.send({ topic: output, messages })
    await txn.sendOffsets({
      consumerGroupId: group,
      topics: [{ topic: input, partitions: [{ partition: 0, offset: String((t + 1) * 10) }] }],
    })
    await txn.commit()
    if (t === 1 || t === 3) {
      const doomed = await producer.transaction()
      await doomed.send({ topic: output, messages: [{ key: 'x', value: `aborted-${t}` }] })
      await doomed.sendOffsets({
        consumerGroupId: group,
        topics: [{ topic: input, partitions: [{ partition: 0, offset: '999' }] }],
      })
      await doomed.abort()
      aborted++
    }
  }
  await producer.disconnect()

  const offsets = await admin.fetchOffsets({ groupId: group, topics: [input] })
  const committedOffset = Number(offsets[0].partitions[0].offset)
  await admin.disconnect()

  const consumer = kafka.consumer({ groupId: `${prefix}-reader` })
  await consumer.connect()
  await consumer.subscribe({ topic: output, fromBeginning: true })
  const seen = new Map()
  let last = Date.now()
  await consumer.run({
    eachMessage: async ({ message }) => {
      last = Date.now()
      const value = message.value.toString()
      seen.set(value, (seen.get(value) || 0) + 1)
    },
  })
  while (Date.now() - last < 4000 || seen.size === 0) {
    if (Date.now() - last > 30000) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  await consumer.disconnect()

  for (const [value, count] of seen) {
    if (!value.startsWith('committed-')) fail(`read_committed saw ${value}`)
    if (count !== 1) fail(`${value} read ${count} times`)
  }
  if (seen.size !== 50) fail(`read ${seen.size} committed records, not 50`)
  if (committedOffset !== 50) fail(`the group's offset is ${committedOffset}, not 50`)
  console.log(`ok ${seen.size} committed records, ${aborted} aborted transactions, offset ${committedOffset}`)
}

main().catch((e) => fail(`${e.stack || e}`))
