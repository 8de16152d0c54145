// @confluentinc/kafka-javascript (librdkafka inside) against the broker: one
// scenario per run, printing what the client saw;
// tests/integration/node_clients_test.cpp compares the lines with what Kafka
// gives. The same scenarios and lines as ../platformatic/driver.js. Its
// KafkaJS-style API where it has the call, its node-rdkafka-style API
// (KafkaConsumer, AdminClient) for assignment, offsetsForTimes and
// createPartitions, which the KafkaJS-style one lacks.
//   node driver.js <scenario> <host:port> <topic> [group]
// Scenarios: produce, group, commit, resume, timestamps, admin.

'use strict'

const rdkafka = require('@confluentinc/kafka-javascript')
const { Kafka, CompressionTypes, logLevel } = rdkafka.KafkaJS

const [scenario, bootstrap, topic, group] = process.argv.slice(2)
const kafka = new Kafka({ kafkaJS: { brokers: [bootstrap], logLevel: logLevel.NOTHING } })
const codecs = { none: CompressionTypes.None, gzip: CompressionTypes.GZIP, snappy: CompressionTypes.SNAPPY, lz4: CompressionTypes.LZ4, zstd: CompressionTypes.ZSTD }

function text (buffer) {
  return buffer === null || buffer === undefined ? 'null' : buffer.toString()
}

function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

// Polls `done` until it holds, failing after `ms`.
async function waitFor (what, done, ms = 30000) {
  const deadline = Date.now() + ms
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

async function withAdmin (work) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return await work(admin)
  } finally {
    await admin.disconnect()
  }
}

function createTopic (admin, name, partitions, configEntries = []) {
  return admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, configEntries }] })
}

function printRecord (r) {
  const headers = r.headers.length ? ' ' + r.headers.join(' ') : ''
  console.log(`record ${r.partition}:${r.offset} key=${r.key} value=${r.value}${headers}`)
}

function headersOf (message) {
  // librdkafka hands headers over as a list of one-entry objects, in order.
  return (message.headers ?? []).flatMap(h => Object.entries(h).map(([k, v]) => `${k}=${text(v)}`))
}

// A node-rdkafka-style consumer with no group membership: assign() only.
async function assignedConsumer () {
  const consumer = new rdkafka.KafkaConsumer({
    'bootstrap.servers': bootstrap,
    'group.id': `${topic}-unused`,
    'enable.auto.commit': false,
    'fetch.wait.max.ms': 100
  }, {})
  await new Promise((resolve, reject) => consumer.connect({ timeout: 10000 }, e => e ? reject(e) : resolve()))
  consumer.setDefaultConsumeTimeout(200)
  return consumer
}

// Reads `count` records of `partition` from `offset` by assignment.
async function readByAssignment (consumer, partition, offset, count) {
  consumer.assign([{ topic, partition, offset }])
  const records = []
  const deadline = Date.now() + 30000
  while (records.length < count) {
    if (Date.now() > deadline) throw new Error(`read ${records.length} of ${count} records`)
    const batch = await new Promise((resolve, reject) => consumer.consume(count - records.length, (e, m) => e ? reject(e) : resolve(m)))
    for (const m of batch) {
      records.push({ partition: m.partition, offset: m.offset, timestamp: m.timestamp, key: text(m.key), value: text(m.value), headers: headersOf(m) })
    }
  }
  consumer.unassign()
  return records
}

function disconnect (client) {
  return new Promise(resolve => client.disconnect(() => resolve()))
}

// Acks 0, 1 and all (idempotent), each with every codec: three records a
// batch, keys, headers, a null value; then read back by assignment. acks and
// compression are set per producer in this client, so one producer each;
// linger.ms keeps a send's three records in one batch.
async function produce () {
  await withAdmin(admin => createTopic(admin, topic, 1))
  for (const [acks, name] of [[0, '0'], [1, '1'], [-1, 'all']]) {
    for (const codec of Object.keys(codecs)) {
      const producer = kafka.producer({ 'linger.ms': 50, kafkaJS: { acks, compression: codecs[codec], idempotent: acks === -1 } })
      await producer.connect()
      const messages = [0, 1, 2].map(i => ({
        partition: 0,
        key: `${name}-${codec}-k${i}`,
        value: i === 2 ? null : `${name}-${codec}-v${i}`,
        headers: { codec, index: String(i) }
      }))
      const [result] = await producer.send({ topic, messages })
      console.log(`sent ${name} ${codec}` + (acks === 0 ? '' : ` ${result.baseOffset}`))
      await producer.disconnect()
    }
  }
  const reader = await assignedConsumer()
  for (const r of await readByAssignment(reader, 0, 0, 45)) printRecord(r)
  await disconnect(reader)
}

function groupMember (id, extra = {}) {
  return kafka.consumer({
    'client.id': `ckjs-member-${id}`,
    'session.timeout.ms': 10000,
    'heartbeat.interval.ms': 200,
    'fetch.wait.max.ms': 100,
    kafkaJS: { groupId: group, fromBeginning: true, ...extra }
  })
}

function partitionsOf (consumer) {
  return consumer.assignment().filter(a => a.topic === topic).map(a => a.partition).sort((x, y) => x - y)
}

// Three members share six partitions; one leaves, the other two take its
// partitions over. Every record produced before and after is seen.
async function groupScenario () {
  await withAdmin(admin => createTopic(admin, topic, 6))
  const producer = kafka.producer({ kafkaJS: { acks: -1 } })
  await producer.connect()
  const send = async (from, to) => {
    const messages = []
    for (let n = from; n < to; n++) messages.push({ partition: n % 6, key: `g${n}`, value: String(n) })
    await producer.send({ topic, messages })
  }
  await send(0, 60)

  const seen = new Set()
  const members = [0, 1, 2].map(i => groupMember(i))
  for (const member of members) {
    await member.connect()
    await member.subscribe({ topics: [topic] })
    member.run({ eachMessage: async ({ message }) => { seen.add(text(message.key)) } })
  }
  const settled = active => {
    const owned = active.flatMap(partitionsOf)
    return owned.length === 6 && new Set(owned).size === 6 && active.every(m => partitionsOf(m).length > 0)
  }
  await waitFor('three members owning six partitions', () => settled(members) && seen.size >= 60)
  members.forEach((m, i) => console.log(`before member ${i} owns ${partitionsOf(m).join(',')}`))
  console.log(`seen ${[...Array(60).keys()].filter(n => seen.has(`g${n}`)).length} of 60`)

  await members[2].disconnect()
  const rest = members.slice(0, 2)
  await waitFor('two members owning six partitions', () => settled(rest))
  rest.forEach((m, i) => console.log(`after member ${i} owns ${partitionsOf(m).join(',')}`))
  await send(60, 120)
  await waitFor('the records after the rebalance', () => [...Array(120).keys()].every(n => seen.has(`g${n}`)))
  console.log(`seen ${[...Array(120).keys()].filter(n => seen.has(`g${n}`)).length} of 120`)
  for (const m of rest) await m.disconnect()
  await producer.disconnect()
}

// Ten records in each of two partitions; a group member reads them all and
// commits 0:4 and 1:7.
async function commit () {
  await withAdmin(admin => createTopic(admin, topic, 2))
  const producer = kafka.producer({ kafkaJS: { acks: -1 } })
  await producer.connect()
  const messages = []
  for (const p of [0, 1]) for (let i = 0; i < 10; i++) messages.push({ partition: p, key: `c${p}-${i}`, value: String(i) })
  await producer.send({ topic, messages })
  await producer.disconnect()

  const member = groupMember(0, { autoCommit: false })
  await member.connect()
  await member.subscribe({ topics: [topic] })
  let count = 0
  member.run({ eachMessage: async () => { count++ } })
  await waitFor('20 records', () => count >= 20)
  await member.commitOffsets([{ topic, partition: 0, offset: '4' }, { topic, partition: 1, offset: '7' }])
  await member.disconnect()
  await printCommitted()
}

async function printCommitted () {
  const [answer] = await withAdmin(admin => admin.fetchOffsets({ groupId: group, topics: [topic] }))
  console.log('committed ' + answer.partitions.map(p => `${p.partition}:${p.offset}`).sort().join(' '))
}

// After the broker restarted: the committed offsets are there, and a new
// member resumes from them.
async function resume () {
  await printCommitted()
  const member = groupMember(1, { autoCommit: false, fromBeginning: false })
  await member.connect()
  await member.subscribe({ topics: [topic] })
  const records = []
  member.run({ eachMessage: async ({ partition, message: m }) => { records.push({ partition, offset: m.offset, key: text(m.key), value: text(m.value), headers: [] }) } })
  await waitFor('9 records', () => records.length >= 9)
  await sleep(300) // nothing more may come
  records.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset))
  for (const r of records) printRecord(r)
  await member.disconnect()
}

// Twenty records with timestamps base + i s in one gzip batch; offsetsForTimes,
// then the record at each offset found.
async function timestamps () {
  const base = 1700000000000
  await withAdmin(admin => createTopic(admin, topic, 1))
  const producer = kafka.producer({ 'linger.ms': 100, kafkaJS: { acks: -1, compression: CompressionTypes.GZIP } })
  await producer.connect()
  const messages = []
  for (let i = 0; i < 20; i++) messages.push({ partition: 0, key: `t${i}`, value: String(i), timestamp: String(base + i * 1000) })
  await producer.send({ topic, messages })
  await producer.disconnect()
  const reader = await assignedConsumer()
  for (const delta of [0, 500, 5000, 19000, 19001]) {
    const [found] = await new Promise((resolve, reject) =>
      reader.offsetsForTimes([{ topic, partition: 0, offset: base + delta }], 10000, (e, t) => e ? reject(e) : resolve(t)))
    let line = `time +${delta} offset ${found.offset}`
    if (found.offset >= 0) {
      const [r] = await readByAssignment(reader, 0, found.offset, 1)
      line += ` key ${r.key} timestamp +${r.timestamp - base}`
    }
    console.log(line)
  }
  await disconnect(reader)
}

// Create (with a config), list, add partitions, delete. This client has no
// DescribeConfigs or AlterConfigs call (neither API style).
async function adminScenario () {
  const a = `${topic}-a`
  const b = `${topic}-b`
  await withAdmin(async admin => {
    await createTopic(admin, a, 1)
    await createTopic(admin, b, 2, [{ name: 'retention.ms', value: '3600000' }])
    const listed = async () => (await admin.listTopics()).filter(t => t.startsWith(topic)).sort()
    console.log(`listed ${(await listed()).join(' ')}`)
    const classic = rdkafka.AdminClient.create({ 'bootstrap.servers': bootstrap })
    await new Promise((resolve, reject) => classic.createPartitions(a, 3, 10000, e => e ? reject(e) : resolve()))
    classic.disconnect()
    const metadata = await admin.fetchTopicMetadata({ topics: [a, b] })
    const count = name => metadata.find(t => t.name === name).partitions.length
    console.log(`partitions ${a} ${count(a)} ${b} ${count(b)}`)
    await admin.deleteTopics({ topics: [a, b] })
    console.log(`listed ${(await listed()).join(' ')}`.trimEnd())
  })
}

const scenarios = { produce, group: groupScenario, commit, resume, timestamps, admin: adminScenario }

scenarios[scenario]().then(
  () => process.exit(0),
  error => {
    console.log(`error ${error.stack ?? error}`)
    process.exit(1)
  })
