// @platformatic/kafka against the broker: one scenario per run, printing what
// the client saw; tests/integration/node_clients_test.cpp compares the lines
// with what Kafka gives. The same scenarios and lines as
// ../confluent-js/driver.js.
//   node driver.js <scenario> <host:port> <topic> [group]
// Scenarios: produce, group, commit, resume, timestamps, admin.

'use strict'

const {
  Admin,
  Consumer,
  Producer,
  ProduceAcks,
  ConfigResourceTypes,
  IncrementalAlterConfigOperationTypes
} = require('@platformatic/kafka')

const [scenario, bootstrap, topic, group] = process.argv.slice(2)
const brokers = [bootstrap]
const codecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd']

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

function createTopic (admin, name, partitions, configs = []) {
  return admin.createTopics({ topics: [name], partitions, replicas: 1, configs })
}

// Reads partition `partition` of `topic` from `offset` by assignment (Fetch
// straight to the leader, no group) until `count` records came back.
async function readByAssignment (consumer, partition, offset, count) {
  const metadata = await consumer.metadata({ topics: [topic] })
  const described = metadata.topics.get(topic)
  const node = described.partitions[partition].leader
  const records = []
  let next = BigInt(offset)
  const deadline = Date.now() + 30000
  while (records.length < count) {
    if (Date.now() > deadline) throw new Error(`read ${records.length} of ${count} records`)
    const response = await consumer.fetch({
      node,
      topics: [{
        topicId: described.id,
        partitions: [{ partition, fetchOffset: next, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1048576 }]
      }],
      maxWaitTime: 500
    })
    const answer = response.responses[0].partitions[0]
    if (answer.errorCode !== 0) throw new Error(`fetch error ${answer.errorCode}`)
    for (const batch of answer.records ?? []) {
      for (const record of batch.records) {
        const at = batch.firstOffset + BigInt(record.offsetDelta)
        if (at < next) continue
        records.push({
          partition,
          offset: at,
          timestamp: batch.firstTimestamp + record.timestampDelta,
          key: text(record.key),
          value: text(record.value),
          headers: record.headers.map(([k, v]) => `${text(k)}=${text(v)}`)
        })
        next = at + 1n
      }
    }
  }
  return records.slice(0, count)
}

function printRecord (r) {
  const headers = r.headers.length ? ' ' + r.headers.join(' ') : ''
  console.log(`record ${r.partition}:${r.offset} key=${r.key} value=${r.value}${headers}`)
}

// Acks 0, 1 and all (idempotent), each with every codec: three records a
// batch, keys, headers, a null value; then read back by assignment.
async function produce () {
  const admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers: brokers })
  await createTopic(admin, topic, 1)
  await admin.close()
  const plain = new Producer({ clientId: 'plt-producer', bootstrapBrokers: brokers })
  const idempotent = new Producer({ clientId: 'plt-idempotent', bootstrapBrokers: brokers, idempotent: true })
  for (const [acks, name, producer] of [[ProduceAcks.NO_RESPONSE, '0', plain], [ProduceAcks.LEADER, '1', plain], [ProduceAcks.ALL, 'all', idempotent]]) {
    for (const codec of codecs) {
      const messages = [0, 1, 2].map(i => ({
        topic,
        partition: 0,
        key: Buffer.from(`${name}-${codec}-k${i}`),
        value: i === 2 ? null : Buffer.from(`${name}-${codec}-v${i}`),
        headers: new Map([[Buffer.from('codec'), Buffer.from(codec)], [Buffer.from('index'), Buffer.from(String(i))]])
      }))
      const result = await producer.send({ messages, acks, compression: codec })
      const offset = result.offsets?.[0]?.offset
      console.log(`sent ${name} ${codec}` + (acks === ProduceAcks.NO_RESPONSE ? '' : ` ${offset}`))
    }
  }
  await plain.close()
  await idempotent.close()
  const reader = new Consumer({ clientId: 'plt-reader', groupId: `${topic}-unused`, bootstrapBrokers: brokers })
  for (const r of await readByAssignment(reader, 0, 0, 45)) printRecord(r)
  await reader.close()
}

function groupMember (id) {
  return new Consumer({
    clientId: `plt-member-${id}`,
    groupId: group,
    bootstrapBrokers: brokers,
    sessionTimeout: 10000,
    heartbeatInterval: 200,
    rebalanceTimeout: 10000,
    maxWaitTime: 200
  })
}

function partitionsOf (consumer) {
  const owned = []
  for (const a of consumer.assignments ?? []) if (a.topic === topic) owned.push(...a.partitions)
  return owned.sort((x, y) => x - y)
}

// Three members share six partitions; one leaves, the other two take its
// partitions over. Every record produced before and after is seen.
async function groupScenario () {
  const admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers: brokers })
  await createTopic(admin, topic, 6)
  await admin.close()
  const producer = new Producer({ clientId: 'plt-producer', bootstrapBrokers: brokers })
  const send = async (from, to) => {
    const messages = []
    for (let n = from; n < to; n++) messages.push({ topic, partition: n % 6, key: Buffer.from(`g${n}`), value: Buffer.from(String(n)) })
    await producer.send({ messages, acks: ProduceAcks.ALL })
  }
  await send(0, 60)

  const seen = new Set()
  const members = [0, 1, 2].map(groupMember)
  const streams = []
  for (const member of members) {
    const stream = await member.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: 100 })
    stream.on('data', message => seen.add(text(message.key)))
    stream.on('error', error => { console.log(`error ${error.message}`); process.exit(1) })
    streams.push(stream)
  }
  const settled = active => {
    const generations = new Set(active.map(m => m.generationId))
    const owned = active.flatMap(partitionsOf)
    return generations.size === 1 && owned.length === 6 && new Set(owned).size === 6 && active.every(m => partitionsOf(m).length > 0)
  }
  await waitFor('three members owning six partitions', () => settled(members) && seen.size >= 60)
  members.forEach((m, i) => console.log(`before member ${i} owns ${partitionsOf(m).join(',')}`))
  console.log(`seen ${[...Array(60).keys()].filter(n => seen.has(`g${n}`)).length} of 60`)

  const generation = members[0].generationId
  await streams[2].close()
  await members[2].close()
  const rest = members.slice(0, 2)
  await waitFor('two members owning six partitions', () => rest.every(m => m.generationId > generation) && settled(rest))
  rest.forEach((m, i) => console.log(`after member ${i} owns ${partitionsOf(m).join(',')}`))
  await send(60, 120)
  await waitFor('the records after the rebalance', () => [...Array(120).keys()].every(n => seen.has(`g${n}`)))
  console.log(`seen ${[...Array(120).keys()].filter(n => seen.has(`g${n}`)).length} of 120`)
  for (let i = 0; i < 2; i++) {
    await streams[i].close()
    await members[i].close()
  }
  await producer.close()
}

// Ten records in each of two partitions; a group member reads them all and
// commits 0:4 and 1:7.
async function commit () {
  const admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers: brokers })
  await createTopic(admin, topic, 2)
  const producer = new Producer({ clientId: 'plt-producer', bootstrapBrokers: brokers })
  const messages = []
  for (const p of [0, 1]) for (let i = 0; i < 10; i++) messages.push({ topic, partition: p, key: Buffer.from(`c${p}-${i}`), value: Buffer.from(String(i)) })
  await producer.send({ messages, acks: ProduceAcks.ALL })
  await producer.close()

  const member = groupMember(0)
  const stream = await member.consume({ topics: [topic], mode: 'committed', fallbackMode: 'earliest', autocommit: false })
  let count = 0
  let leaderEpoch = -1
  stream.on('data', message => { count++; leaderEpoch = message.leaderEpoch })
  await waitFor('20 records', () => count >= 20)
  await member.commit({
    offsets: [{ topic, partition: 0, offset: 4n, leaderEpoch }, { topic, partition: 1, offset: 7n, leaderEpoch }]
  })
  await stream.close()
  await member.close()
  await printCommitted(admin)
  await admin.close()
}

async function printCommitted (admin) {
  const [answer] = await admin.listConsumerGroupOffsets({ groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: [0, 1] }] }] })
  const parts = answer.topics.find(t => t.name === topic).partitions
  console.log('committed ' + parts.map(p => `${p.partitionIndex}:${p.committedOffset}`).sort().join(' '))
}

// After the broker restarted: the committed offsets are there, and a new
// member resumes from them.
async function resume () {
  const admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers: brokers })
  await printCommitted(admin)
  await admin.close()
  const member = groupMember(1)
  const stream = await member.consume({ topics: [topic], mode: 'committed', fallbackMode: 'fail', autocommit: false })
  const records = []
  stream.on('data', m => records.push({ partition: m.partition, offset: m.offset, key: text(m.key), value: text(m.value), headers: [] }))
  await waitFor('9 records', () => records.length >= 9)
  await sleep(300) // nothing more may come
  records.sort((a, b) => a.partition - b.partition || Number(a.offset - b.offset))
  for (const r of records) printRecord(r)
  await stream.close()
  await member.close()
}

// Twenty records with timestamps base + i s in one gzip batch; ListOffsets
// by time, then the record at each offset found.
async function timestamps () {
  const base = 1700000000000n
  const admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers: brokers })
  await createTopic(admin, topic, 1)
  const producer = new Producer({ clientId: 'plt-producer', bootstrapBrokers: brokers })
  const messages = []
  for (let i = 0; i < 20; i++) messages.push({ topic, partition: 0, key: Buffer.from(`t${i}`), value: Buffer.from(String(i)), timestamp: base + BigInt(i) * 1000n })
  await producer.send({ messages, acks: ProduceAcks.ALL, compression: 'gzip' })
  await producer.close()
  const reader = new Consumer({ clientId: 'plt-reader', groupId: `${topic}-unused`, bootstrapBrokers: brokers })
  for (const delta of [0n, 500n, 5000n, 19000n, 19001n]) {
    const listed = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: base + delta }] }] })
    const found = listed[0].partitions[0]
    let line = `time +${delta} offset ${found.offset}`
    if (found.offset >= 0n) {
      const [r] = await readByAssignment(reader, 0, found.offset, 1)
      line += ` key ${r.key} timestamp +${found.timestamp - base}`
    } else {
      line += ` timestamp ${found.timestamp}`
    }
    console.log(line)
  }
  await reader.close()
  await admin.close()
}

// Create (with a config), list, add partitions, alter and describe configs,
// delete.
async function adminScenario () {
  const admin = new Admin({ clientId: 'plt-admin', bootstrapBrokers: brokers })
  const a = `${topic}-a`
  const b = `${topic}-b`
  await createTopic(admin, a, 1)
  await createTopic(admin, b, 2, [{ name: 'retention.ms', value: '3600000' }])
  const listed = async () => (await admin.listTopics()).filter(t => t.startsWith(topic)).sort()
  console.log(`listed ${(await listed()).join(' ')}`)
  await admin.createPartitions({ topics: [{ name: a, count: 3 }] })
  const metadata = await admin.metadata({ topics: [a, b], forceUpdate: true })
  console.log(`partitions ${a} ${metadata.topics.get(a).partitionsCount} ${b} ${metadata.topics.get(b).partitionsCount}`)
  await admin.incrementalAlterConfigs({
    resources: [{
      resourceType: ConfigResourceTypes.TOPIC,
      resourceName: b,
      configs: [
        { name: 'retention.ms', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '7200000' },
        { name: 'max.message.bytes', configOperation: IncrementalAlterConfigOperationTypes.SET, value: '200000' }
      ]
    }]
  })
  await admin.alterConfigs({
    resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: a, configs: [{ name: 'cleanup.policy', value: 'compact' }] }]
  })
  const described = await admin.describeConfigs({
    resources: [a, b].map(name => ({ resourceType: ConfigResourceTypes.TOPIC, resourceName: name, configurationKeys: ['cleanup.policy', 'max.message.bytes', 'retention.ms'] }))
  })
  for (const resource of described.sort((x, y) => x.resourceName.localeCompare(y.resourceName))) {
    for (const c of resource.configs.sort((x, y) => x.name.localeCompare(y.name))) {
      console.log(`config ${resource.resourceName} ${c.name}=${c.value} source ${c.configSource}`)
    }
  }
  await admin.deleteTopics({ topics: [a, b] })
  console.log(`listed ${(await listed()).join(' ')}`.trimEnd())
  await admin.close()
}

const scenarios = { produce, group: groupScenario, commit, resume, timestamps, admin: adminScenario }

scenarios[scenario]().then(
  () => process.exit(0),
  error => {
    console.log(`error ${error.stack ?? error}`)
    if (error.errors) console.log(`errors ${JSON.stringify(error.errors.map(e => e.message ?? String(e)))}`)
    process.exit(1)
  })
