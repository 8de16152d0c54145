// kafkajs admin calls on the log APIs: a gzip batch of twenty records with
// timestamps base + i * 1000 found by time (fetchTopicOffsetsByTimestamp),
// deleteTopicRecords (the low watermark moves), and the partition
// reassignment APIs as a single node answers them.
//
// usage: node log_admin.js <bootstrap> <topic>
'use strict'

const { Kafka, CompressionTypes, logLevel } = require('kafkajs')

const [bootstrap, topic] = process.argv.slice(2)
const base = 1700000000000

function fail(message) {
  console.error(message)
  process.exit(1)
}

async function main() {
  const kafka = new Kafka({
    clientId: 'kb-kafkajs-logs',
    brokers: [bootstrap],
    logLevel: logLevel.WARN,
    retry: { retries: 3, initialRetryTime: 100 },
  })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })

  const producer = kafka.producer()
  await producer.connect()
  const messages = []
  for (let i = 0; i < 20; i++)
    messages.push({ value: `value-${i}`, partition: 0, timestamp: String(base + i * 1000) })
  await producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages })
  await producer.disconnect()

  for (const [ts, want] of [[base + 500, '1'], [base + 5000, '5'], [base + 19000, '19']]) {
    const found = await admin.fetchTopicOffsetsByTimestamp(topic, ts)
    if (found[0].offset !== want) fail(`by timestamp ${ts}: ${JSON.stringify(found)}, not ${want}`)
  }

  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '7' }] })
  const offsets = await admin.fetchTopicOffsets(topic)
  if (offsets[0].low !== '7' || offsets[0].high !== '20')
    fail(`after deleteTopicRecords: ${JSON.stringify(offsets)}`)
  // -1: everything up to the high watermark.
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] })
  const emptied = await admin.fetchTopicOffsets(topic)
  if (emptied[0].low !== '20') fail(`after deleting all: ${JSON.stringify(emptied)}`)

  const listed = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [0] }] })
  if (listed.topics.length !== 0) fail(`listPartitionReassignments: ${JSON.stringify(listed)}`)
  await admin.alterPartitionReassignments({
    topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [1] }] }],
  })
  let refused = false
  try {
    await admin.alterPartitionReassignments({
      topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [2] }] }],
    })
  } catch (e) {
    // The exact error code is checked over the raw protocol; here, that
    // kafkajs reports the refusal.
    refused = true
  }
  if (!refused) fail('alterPartitionReassignments to broker 2 was accepted')
  await admin.disconnect()
  console.log('ok log admin')
}

main().catch((e) => fail(`${e.stack || e}`))
