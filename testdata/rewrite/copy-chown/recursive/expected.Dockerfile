FROM node:22-alpine
COPY --chown=node:node app/ /srv/app/
CMD ["node", "/srv/app/index.js"]
