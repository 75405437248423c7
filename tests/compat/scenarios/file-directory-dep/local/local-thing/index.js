module.exports = 'local-thing';
